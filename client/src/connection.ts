// One V2 connection over a WebSocket: the magic and IDENTIFY, AUTH when IDENTIFY answers
// auth_required (as go-nsq: `authSecret` as its body; without one the connection fails with
// E_AUTH_REQUIRED), framing in both directions, heartbeats (answered with NOP; a silent server
// is dropped), the queue of commands waiting for their response, and coalescing: whatever is
// written in one turn of the event loop leaves as one WebSocket message.
import * as cmd from "../../src/protocol/commands.js";
import { FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, FrameReader, decodeMessage, type MessageFrame } from "../../src/protocol/frames.js";
import { AuthError, ConnectionError, serverError, type NsqError } from "./errors.js";
import { destroySocket, errorText, openSocket, type SocketLike, type TransportOptions } from "./socket.js";

/** What a connection tells the server about itself in IDENTIFY, with go-nsq's defaults. */
export interface IdentifyOptions {
  /** `client_id`, shown in /stats. Default "nsq-edge-client". */
  clientId?: string;
  /** `hostname`, shown in /stats. Default: clientId. */
  hostname?: string;
  /** `user_agent`, shown in /stats. Default "nsq-edge-client/<version>". */
  userAgent?: string;
  /** Server heartbeat interval in ms (1000..60000; -1 disables, not allowed to consumers). Default 30000. */
  heartbeatInterval?: number;
  /** In-flight timeout of this client's messages in ms; 0 = the server's (60 s by default). */
  msgTimeout?: number;
  /** How long the server may buffer messages before sending them, in ms. Default 250. */
  outputBufferTimeout?: number;
  /** How many bytes the server may buffer before sending. Default 16384. */
  outputBufferSize?: number;
  /** Percentage of the channel's messages to receive (0 = all). Default 0. */
  sampleRate?: number;
}

export interface ConnectionOptions extends IdentifyOptions, TransportOptions {}

/** The server's answer to IDENTIFY (feature negotiation), with nsqd's defaults filled in. */
export interface ServerSettings {
  maxRdyCount: number;
  msgTimeout: number;
  maxMsgTimeout: number;
  version: string;
  heartbeatInterval: number;
}

/** The server's answer to AUTH (nsqd's JSON). */
export interface AuthIdentity {
  identity: string;
  identityUrl: string;
  permissionCount: number;
}

export interface ConnectionEvents {
  /** A message frame (consumer connections only). */
  message?(conn: Connection, msg: MessageFrame): void;
  /** An error frame that answers no command (E_FIN_FAILED, E_REQ_FAILED, E_TOUCH_FAILED, ...). */
  error?(conn: Connection, err: NsqError): void;
  /** The connection closed, for whatever reason; called once. */
  close?(conn: Connection, err?: Error): void;
}

const VERSION = "0.1.0";
const DEFAULT_CLIENT_ID = "nsq-edge-client";
const USER_AGENT = `nsq-edge-client/${VERSION}`;

/** The largest WebSocket message the library sends (a command larger than this is split). */
const MAX_WS_MESSAGE = 512 * 1024;

interface Pending {
  resolve(text: string): void;
  reject(err: Error): void;
}

export class Connection {
  /** Set by the consumer: the RDY count last sent, and its flow-control bookkeeping. */
  rdy = 0;
  inFlight = 0;
  lastMessageAt = 0;
  /** CLS was sent: the server sends no more messages. */
  closing = false;
  closed = false;
  settings: ServerSettings;
  /** Who AUTH made this connection; null if no AUTH command was needed (auth off, or the upgrade's Bearer). */
  auth: AuthIdentity | null = null;

  private reader = new FrameReader();
  private pending: Pending[] = [];
  private outbox: Uint8Array[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastReadAt = Date.now();
  /** The last fatal error the server sent: why it is about to close the connection. */
  private fatalError: NsqError | null = null;
  /** How many WebSocket messages this connection sent (for tests and stats). */
  sent = 0;

  private constructor(
    readonly url: string,
    private readonly socket: SocketLike,
    private readonly events: ConnectionEvents,
    heartbeatInterval: number,
  ) {
    this.settings = { maxRdyCount: 2500, msgTimeout: 60_000, maxMsgTimeout: 900_000, version: "", heartbeatInterval };
    socket.addEventListener("message", (e) => this.onData(e.data));
    socket.addEventListener("close", (e) =>
      this.destroy(new ConnectionError(`connection to ${url} closed (${e?.code ?? "?"}${e?.reason ? ` ${e.reason}` : ""})`, this.fatalError ?? undefined)),
    );
    socket.addEventListener("error", (e) =>
      this.destroy(new ConnectionError(`connection to ${url} failed: ${errorText(e?.error ?? e?.message ?? "error")}`, this.fatalError ?? undefined)),
    );
  }

  /**
   * Opens the WebSocket, sends the magic and IDENTIFY and reads the server's settings. `url`
   * names the connection; `socketUrl` is where it goes (a consumer's has its channel in it).
   */
  static async open(url: string, opts: ConnectionOptions, events: ConnectionEvents, socketUrl = url): Promise<Connection> {
    const socket = await openSocket(socketUrl, opts);
    const heartbeatInterval = opts.heartbeatInterval ?? 30_000;
    const conn = new Connection(url, socket, events, heartbeatInterval);
    const clientId = opts.clientId ?? DEFAULT_CLIENT_ID;
    const identify: Record<string, unknown> = {
      client_id: clientId,
      hostname: opts.hostname ?? clientId,
      user_agent: opts.userAgent ?? USER_AGENT,
      feature_negotiation: true,
      heartbeat_interval: heartbeatInterval,
      output_buffer_timeout: opts.outputBufferTimeout ?? 250,
      output_buffer_size: opts.outputBufferSize ?? 16384,
    };
    if (opts.msgTimeout) identify.msg_timeout = opts.msgTimeout;
    if (opts.sampleRate) identify.sample_rate = opts.sampleRate;
    conn.write(cmd.MAGIC_V2);
    const dialTimeout = opts.dialTimeout ?? 5000;
    try {
      const answer = await conn.within(conn.command(cmd.identify(identify)), dialTimeout, "IDENTIFY");
      if (answer !== "OK") {
        const s = JSON.parse(answer) as Record<string, unknown>;
        if (s.auth_required === true) conn.auth = await conn.authenticate(opts.authSecret, dialTimeout);
        const num = (k: string, d: number) => (typeof s[k] === "number" ? (s[k] as number) : d);
        conn.settings = {
          maxRdyCount: num("max_rdy_count", 2500),
          msgTimeout: num("msg_timeout", 60_000),
          maxMsgTimeout: num("max_msg_timeout", 900_000),
          version: typeof s.version === "string" ? s.version : "",
          heartbeatInterval,
        };
      }
    } catch (e) {
      conn.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    conn.startWatchdog();
    return conn;
  }

  /** go-nsq's auth(): AUTH with the secret as its body; the server's error rejects (E_AUTH_FAILED, E_UNAUTHORIZED). */
  private async authenticate(secret: string | undefined, timeoutMs: number): Promise<AuthIdentity> {
    if (!secret)
      throw new AuthError(`E_AUTH_REQUIRED Auth Required: ${this.url} answered IDENTIFY with auth_required; pass the authSecret option`);
    const answer = await this.within(this.command(cmd.auth(secret)), timeoutMs, "AUTH");
    const a = JSON.parse(answer) as { identity?: unknown; identity_url?: unknown; permission_count?: unknown };
    return {
      identity: String(a.identity ?? ""),
      identityUrl: String(a.identity_url ?? ""),
      permissionCount: typeof a.permission_count === "number" ? a.permission_count : 0,
    };
  }

  /** SUB: resolves on OK, rejects with the server's error (the connection then closes). */
  async subscribe(topic: string, channel: string, timeoutMs = 5000): Promise<void> {
    await this.within(this.command(cmd.sub(topic, channel)), timeoutMs, "SUB");
  }

  /** Sends a command that the server answers (IDENTIFY, SUB, PUB, MPUB, DPUB, CLS). */
  command(bytes: Uint8Array): Promise<string> {
    if (this.closed) return Promise.reject(new ConnectionError(`connection to ${this.url} is closed`, this.fatalError ?? undefined));
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.write(bytes);
    });
  }

  /** Queues bytes for the next WebSocket message (sent at the end of this turn of the event loop). */
  write(bytes: Uint8Array) {
    if (this.closed) return;
    this.outbox.push(bytes);
    this.flushTimer ??= setTimeout(() => this.flush(), 0);
  }

  /** Sends everything queued now, in as few WebSocket messages as MAX_WS_MESSAGE allows. */
  flush() {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.closed || this.outbox.length === 0) return;
    const all = this.outbox.length === 1 ? this.outbox[0] : cmd.concatAll(this.outbox);
    this.outbox = [];
    try {
      for (let at = 0; at < all.length; at += MAX_WS_MESSAGE) {
        this.socket.send(all.length <= MAX_WS_MESSAGE ? all : all.subarray(at, at + MAX_WS_MESSAGE));
        this.sent++;
      }
    } catch (e) {
      this.destroy(new ConnectionError(`cannot send to ${this.url}: ${errorText(e)}`));
    }
  }

  /** How many commands are waiting for their response. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Closes the WebSocket (after sending what is queued). */
  close() {
    if (this.closed) return;
    this.flush();
    try {
      this.socket.close(1000, "closing");
    } catch {
      // already closed
    }
    this.destroy(new ConnectionError(`connection to ${this.url} closed by the client`));
  }

  /** Marks the connection closed, fails what waits for a response, and reports it once. */
  destroy(err?: Error) {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.flushTimer = this.watchdog = null;
    this.outbox = [];
    destroySocketIfOpen(this.socket);
    const pending = this.pending;
    this.pending = [];
    const reason = err ?? new ConnectionError(`connection to ${this.url} closed`);
    for (const p of pending) p.reject(reason);
    this.events.close?.(this, err);
  }

  // ---- reading ---------------------------------------------------------------------------

  private onData(data: unknown) {
    if (this.closed) return;
    this.lastReadAt = Date.now();
    const bytes =
      typeof data === "string" ? new TextEncoder().encode(data)
      : data instanceof ArrayBuffer ? new Uint8Array(data)
      : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : null;
    if (!bytes) return this.destroy(new ConnectionError(`unexpected data from ${this.url}: use binaryType "arraybuffer"`));
    for (const f of this.reader.feed(bytes)) {
      if (this.closed) return;
      if (f.type === FRAME_RESPONSE) {
        const text = new TextDecoder().decode(f.data);
        if (text === "_heartbeat_") {
          this.write(cmd.nop());
          continue;
        }
        this.pending.shift()?.resolve(text);
      } else if (f.type === FRAME_ERROR) {
        const err = serverError(new TextDecoder().decode(f.data));
        // FIN, REQ and TOUCH have no response: their errors answer no pending command.
        const p = err.fatal ? this.pending.shift() : undefined;
        if (p) p.reject(err);
        else this.events.error?.(this, err);
        if (err.fatal) {
          // The server closes the connection after a fatal error and answers nothing more:
          // whatever waits behind it fails now, and nothing more is sent on it.
          this.fatalError = err;
          return this.destroy(new ConnectionError(`connection to ${this.url} closed by the server after ${err.code}`, err));
        }
      } else if (f.type === FRAME_MESSAGE) {
        const m = decodeMessage(f.data);
        this.events.message?.(this, { ...m, body: m.body.slice() });
      }
    }
  }

  /** Drops a server that has sent nothing (not even a heartbeat) for two heartbeat intervals. */
  private startWatchdog() {
    const interval = this.settings.heartbeatInterval;
    if (interval <= 0) return;
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastReadAt > 2 * interval + 1000)
        this.destroy(new ConnectionError(`no data from ${this.url} for ${Date.now() - this.lastReadAt} ms`));
    }, interval);
  }

  private within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout>;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new ConnectionError(`${what} to ${this.url} got no answer in ${ms} ms`);
          this.destroy(err);
          reject(err);
        }, ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

function destroySocketIfOpen(socket: SocketLike) {
  // CONNECTING (0) or OPEN (1): close it; CLOSING/CLOSED: nothing to do.
  if (socket.readyState <= 1) destroySocket(socket);
}
