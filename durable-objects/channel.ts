// ChannelObject: one per topic+channel. The queue itself is src/channel/queue.ts (its storage
// src/channel/store.ts); this object wires the runtime to it: the topic's RPCs, the consumers'
// links (WebSockets from the Worker's V2 sessions, hibernatable), the in-flight timer and the
// alarm, and it maps the queue's answers to frames.
import { DurableObject } from "cloudflare:workers";
import { config, type Env } from "../src/config";
import { errorFrame, messageFrameSize, sendChunked, writeMessageFrame } from "../src/protocol/frames";
import { clientInfoOf, decodeLink, idText, idValue, linkSeq, rdyAck, type ClientInfo, type LinkVisitor } from "../src/protocol/link";
import { isEphemeral } from "../src/protocol/names";
import { topicStub } from "../src/stubs";
import type { ChannelStats } from "../src/stats";
import type { ChannelRpc } from "../src/objects";
import type { Consumer, ConsumerState } from "../src/channel/consumer";
import type { NotTaken } from "../src/channel/in-flight";
import { LinkInbox } from "../src/channel/link-inbox";
import type { ChannelHost } from "../src/channel/host";
import { ChannelQueue } from "../src/channel/queue";
import { SqlChannelStore } from "../src/channel/store";
import type { Ready } from "../src/channel/window";

/** A consumer and its link's inbox. */
interface Link extends Consumer<WebSocket> {
  inbox: LinkInbox;
}

function link(ws: WebSocket, state: ConsumerState, inbox: LinkInbox): Link {
  return { ...state, conn: ws, inbox, turn: 0, inFlight: 0, messageCount: 0, finishCount: 0, requeueCount: 0 };
}

export class ChannelObject extends DurableObject<Env> implements ChannelRpc {
  private queue: ChannelQueue<WebSocket>;
  private links = new Map<WebSocket, Link>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  /** Events taken since this object started (the benchmark's count of calls per object). */
  private requests = 0;

  // One visitor for every link message (no closures per message): `current` is the link it
  // runs for, `errors` the frames it answers.
  private current: Link | null = null;
  private errors: Uint8Array[] = [];
  private visitor: LinkVisitor = {
    rdy: (count, ack) => {
      this.queue.setReady(this.current!, count);
      this.saveAttachment(this.current!);
      // After every frame sent before this RDY was read (the link is ordered).
      if (ack) this.current!.conn.send(rdyAck(count, this.current!.inFlight));
    },
    fin: (b, at) => this.answer(this.queue.finishMessage(this.current!, idValue(b, at)), "E_FIN_FAILED FIN", b, at),
    req: (b, at, delayMs) => this.answer(this.queue.requeueMessage(this.current!, idValue(b, at), delayMs), "E_REQ_FAILED REQ", b, at),
    touch: (b, at) => this.answer(this.queue.touchMessage(this.current!, idValue(b, at)), "E_TOUCH_FAILED TOUCH", b, at),
    cls: () => {
      this.queue.startClose(this.current!);
      this.saveAttachment(this.current!);
    },
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const host: ChannelHost<WebSocket> = {
      now: () => Date.now(),
      random: () => Math.random(),
      send: (ws, msgs, from, to) => this.send(ws, msgs, from, to),
      timeoutsAt: (at) => this.armTimeouts(at),
      cancelTimeouts: () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.timerAt = Infinity;
      },
      flushAcksIn: (ms) => {
        this.ackTimer = setTimeout(() => this.guard("flushing done bits", () => this.queue.flushAcks()), ms);
      },
      cancelFlushAcks: () => {
        if (this.ackTimer) clearTimeout(this.ackTimer);
        this.ackTimer = null;
      },
      setAlarm: (at) => void this.ctx.storage.setAlarm(at),
    };
    this.queue = new ChannelQueue(new SqlChannelStore(ctx.storage), host, config(env).maxMsgTimeout);
    // Consumers that stayed connected while this object hibernated; their links' sequence
    // starts at whatever comes first.
    for (const ws of ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as ConsumerState | null;
      if (a) this.addLink(link(ws, a, new LinkInbox(null)));
    }
  }

  // ---- the topic's RPCs ------------------------------------------------------------------

  init(topic: string, channel: string, generation: number) {
    this.queue.init(topic, channel, generation);
  }

  /** Deletes every message and closes every consumer (nsqd's channel delete). */
  /** `code`: the links' close code (SHARD_DRAINED when a drained shard goes: its sessions stay). */
  async destroy(code = 1000) {
    for (const ws of this.links.keys()) ws.close(code, code === 1000 ? "channel deleted" : "shard drained");
    this.links.clear();
    this.queue.forget();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.queue.load();
  }

  /** Deletes an ephemeral channel that has no consumer; false if one has come back. */
  async destroyIfIdle(generation: number): Promise<boolean> {
    if (this.links.size > 0 || generation !== this.queue.generation) return false;
    await this.destroy();
    return true;
  }

  /**
   * Stores segments from the topic (idempotent by message id) and delivers what consumers can
   * take. `topic` is the topic's message count and bytes so far, kept here with the messages.
   */
  push(segments: Uint8Array[], topic?: { count: number; bytes: number }) {
    this.requests++;
    this.queue.push(segments, topic);
  }

  empty(): boolean {
    return this.queue.empty();
  }

  setPaused(paused: boolean): boolean {
    return this.queue.setPaused(paused);
  }

  topicCounts(): { count: number; bytes: number } {
    return this.queue.topicCounts();
  }

  stats(includeClients = true): ChannelStats | null {
    const s = this.queue.stats(includeClients);
    return s && { ...s, requests: this.requests };
  }

  // ---- consumers' links ------------------------------------------------------------------

  /** A V2 session subscribes: the Worker opens a WebSocket here that carries its channel commands. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    if (this.queue.topic === null) return new Response("CHANNEL_NOT_FOUND", { status: 404 });
    let info: ClientInfo;
    try {
      info = clientInfoOf(request);
    } catch (e) {
      return new Response(e instanceof Error ? e.message : String(e), { status: 400 });
    }
    const pair = new WebSocketPair();
    const ws = pair[1];
    this.ctx.acceptWebSocket(ws);
    const state: ConsumerState = { info, rdy: 0, closing: false };
    ws.serializeAttachment(state);
    this.addLink(link(ws, state, new LinkInbox()));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Channel commands from a session, already validated there: RDY, FIN, REQ, TOUCH, CLS, as
   * the binary records of src/protocol/link.ts after a 4-byte sequence number, run in order.
   */
  override webSocketMessage(ws: WebSocket, data: ArrayBuffer | string) {
    this.requests++;
    const c = this.links.get(ws);
    if (!c || typeof data === "string" || data.byteLength < 4) return;
    try {
      const bytes = new Uint8Array(data);
      let records = c.inbox.arrive(linkSeq(bytes), bytes.subarray(4));
      if (records === null) return;
      this.current = c;
      for (; records !== null; records = c.inbox.next()) decodeLink(records, this.visitor);
      this.current = null;
      for (const e of this.errors) ws.send(e);
      this.errors.length = 0;
      this.queue.settle();
    } catch (e) {
      this.current = null;
      this.errors.length = 0;
      this.fail(c, e);
    }
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string) {
    this.guard("dropping a consumer", () => this.dropLink(ws));
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  override webSocketError(ws: WebSocket) {
    this.guard("dropping a consumer", () => this.dropLink(ws));
  }

  private addLink(c: Link) {
    this.links.set(c.conn, c);
    this.queue.addClient(c);
  }

  /** A consumer is gone: the queue requeues what it had in flight. */
  private dropLink(ws: WebSocket) {
    const c = this.links.get(ws);
    if (!c) return;
    this.links.delete(ws);
    this.queue.removeClient(c);
    const { topic, channel, generation } = this.queue;
    if (this.links.size === 0 && channel !== null && isEphemeral(channel)) {
      this.ctx.waitUntil(topicStub(this.env, topic!).channelIdle(channel, generation));
    }
  }

  /**
   * A link message failed midway. Rather than serve this consumer half, close its link: its
   * session then closes its client's connection, and what it had in flight is ready again.
   */
  private fail(c: Link, e: unknown) {
    console.error("channel: a link message failed; closing its consumer", e);
    try {
      c.conn.close(1011, "internal error");
    } catch {
      // already closed
    }
    this.guard("dropping a failed consumer", () => this.dropLink(c.conn));
  }

  private answer(why: NotTaken | null, what: string, b: Uint8Array, at: number) {
    if (why !== null) this.errors.push(errorFrame(`${what} ${idText(b, at)} failed ${why}`));
  }

  private saveAttachment(c: Link) {
    c.conn.serializeAttachment({ info: c.info, rdy: c.rdy, closing: c.closing } satisfies ConsumerState);
  }

  /** Message frames for msgs[from, to), one buffer, sent in WebSocket-sized pieces. */
  private send(ws: WebSocket, msgs: readonly Ready[], from: number, to: number): boolean {
    let size = 0;
    for (let i = from; i < to; i++) size += messageFrameSize(msgs[i].body);
    const out = new Uint8Array(size);
    let offset = 0;
    for (let i = from; i < to; i++) {
      const m = msgs[i];
      offset = writeMessageFrame(out, offset, m.ts, m.attempts + 1, m.id, m.body);
    }
    try {
      sendChunked(ws, out);
      return true;
    } catch {
      return false;
    }
  }

  // ---- timers ----------------------------------------------------------------------------

  /**
   * In-flight deadlines live in memory like the in-flight set, so a timer (not the alarm) serves
   * them; a pending timer also keeps the object from hibernating while messages are in flight.
   * A timer due earlier already covers `at` (the queue asks again when it runs).
   */
  private armTimeouts(at: number) {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.guard("timing out messages", () => this.queue.timeouts());
    }, Math.max(0, at - Date.now()));
  }

  /** Deferred and requeued rows are in storage, so a durable alarm wakes the object for them. */
  override async alarm() {
    this.requests++;
    this.guard("the alarm", () => this.queue.alarm());
  }

  /**
   * Runs work that is not one consumer's (a timer, the alarm, a consumer leaving). If it fails
   * midway, memory may be half-updated for every consumer: start again from storage (everything
   * stored is ready again; the links close, and their sessions with them).
   */
  private guard(what: string, run: () => void) {
    try {
      run();
    } catch (e) {
      console.error(`channel: ${what} failed; restarting the object`, e);
      this.ctx.abort(`${what} failed`);
    }
  }
}
