// A link inside one object. A V2 session served by its channel's own object (a client that named
// the channel in its /ws URL) reaches the channel's queue over this pair instead of a WebSocket
// between two objects: the same link records and frames, in order, each delivered in a microtask
// (as an event would be, never inside the sender's call), with no event of the runtime per
// message. Each end has the part of the WebSocket interface the session and the channel use.

type Data = ArrayBuffer | string;
type Listener = (e: { data: Data; code?: number; reason?: string }) => void;

/** The channel's side: what arrives from the session, and its close. */
export interface LocalLinkHandlers {
  message(end: WebSocket, data: Data): void;
  close(end: WebSocket, code: number, reason: string): void;
}

class LocalEnd {
  binaryType = "arraybuffer";
  peer!: LocalEnd;
  closed = false;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(private readonly onPeerMessage: ((data: Data) => void) | null, private readonly onPeerClose: ((code: number, reason: string) => void) | null) {
    this.held = onPeerMessage ? null : [];
  }

  /**
   * What arrived before accept(), in order: as a WebSocket's, events wait until then. The
   * channel's end has its handlers from the start and holds nothing.
   */
  private held: (() => void)[] | null;

  accept() {
    const held = this.held;
    if (!held) return;
    // Replayed once the caller has added its listeners (the session accepts, then listens).
    queueMicrotask(() => {
      this.held = null;
      for (const run of held) run();
    });
  }
  /** The channel keeps a consumer's state on its socket for hibernation; this link lives in memory only. */
  serializeAttachment() {}

  addEventListener(type: string, fn: Listener) {
    let list = this.listeners.get(type);
    if (!list) this.listeners.set(type, (list = []));
    list.push(fn);
  }

  send(data: ArrayBuffer | ArrayBufferView | string) {
    // As a WebSocket's: sending on a closed link throws.
    if (this.closed) throw new Error("the link is closed");
    // A string stays one (a WebSocket's text message: the link's RDY acknowledgements are).
    const message = typeof data === "string" ? data : toArrayBuffer(data);
    const peer = this.peer;
    queueMicrotask(() => {
      if (peer.closed) return;
      peer.arrive(message);
    });
  }

  close(code = 1000, reason = "") {
    if (this.closed) return;
    this.closed = true;
    const peer = this.peer;
    queueMicrotask(() => peer.peerClosed(code, reason));
  }

  private arrive(data: Data) {
    if (this.held) return void this.held.push(() => this.arrive(data));
    if (this.onPeerMessage) return this.onPeerMessage(data);
    for (const fn of this.listeners.get("message") ?? []) fn({ data });
  }

  private peerClosed(code: number, reason: string) {
    if (this.held) return void this.held.push(() => this.peerClosed(code, reason));
    if (this.closed) return;
    this.closed = true;
    if (this.onPeerClose) return this.onPeerClose(code, reason);
    for (const fn of this.listeners.get("close") ?? []) fn({ data: new ArrayBuffer(0), code, reason });
  }
}

function toArrayBuffer(data: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return (whole ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) as ArrayBuffer;
}

/**
 * A linked pair: [the session's end, the channel's end]. The session's end is used as the
 * session uses a link's WebSocket (listeners); what reaches the channel's end goes to `handlers`,
 * as the runtime hands a hibernatable socket's messages to the object.
 */
export function localLink(handlers: LocalLinkHandlers): [WebSocket, WebSocket] {
  const session = new LocalEnd(null, null);
  let channelEnd: WebSocket;
  const channel = new LocalEnd(
    (data) => handlers.message(channelEnd, data),
    (code, reason) => handlers.close(channelEnd, code, reason),
  );
  session.peer = channel;
  channel.peer = session;
  // The ends have the part of WebSocket that the session and the channel call (above).
  channelEnd = channel as unknown as WebSocket;
  return [session as unknown as WebSocket, channelEnd];
}
