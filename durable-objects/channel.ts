// ChannelObject: one per topic+channel. The queue itself is src/channel/queue.ts (its storage
// src/channel/store.ts); this object wires the runtime to it: the topic's RPCs, the consumers'
// links (WebSockets from the Worker's V2 sessions, hibernatable; or, for a consumer that named
// this channel in its /ws URL, a session run here over a link inside the object), the in-flight
// timer and the alarm, and it maps the queue's answers to frames. It also hands dead letters to their topic
// and runs a dead-letter channel's redrive (src/channel/dead-letters.ts).
import { DurableObject } from "cloudflare:workers";
import { config, type Env } from "../src/config";
import { errorFrame, messageFrameSize, sendChunked, writeMessageFrame } from "../src/protocol/frames";
import { clientInfoOf, decodeLink, idText, idValue, linkSeq, rdyAck, type ClientInfo, type LinkVisitor } from "../src/protocol/link";
import { isEphemeral } from "../src/protocol/names";
import { onShard, topicStub } from "../src/stubs";
import type { ChannelStats } from "../src/stats";
import type { ChannelRpc, Held, PeekedMessage, RedriveState } from "../src/objects";
import { deadLetterTarget, type ChannelSettings } from "../src/settings";
import { packSegments } from "../src/segment";
import { packUnits } from "../src/publish-units";
import { shardOf } from "../src/topic/shards";
import { deadKey, originMeta, originOf, redriveKey, type Origin } from "../src/channel/dead-letters";
import type { Consumer, ConsumerState } from "../src/channel/consumer";
import type { NotTaken } from "../src/channel/in-flight";
import { LinkInbox } from "../src/channel/link-inbox";
import { channelSessionOf, type ChannelSession } from "../src/v2/channel-session";
import { localLink } from "../src/v2/local-link";
import { V2Session } from "../src/v2/session";
import type { ChannelHost } from "../src/channel/host";
import { ChannelQueue } from "../src/channel/queue";
import { SqlChannelStore } from "../src/channel/store";
import type { Ready } from "../src/channel/window";

/** Dead letters per move, and the wait before a move that failed is tried again. */
const DEAD_BATCH = 500;
const DEAD_RETRY_MS = 1000;
/** Messages per redrive step, at most (the rate spreads them over a second). */
const REDRIVE_BATCH = 1000;

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
  private moving = false;
  private redriving: RedriveState | null = null;

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
      // After the event: every message it buries goes in the first batch (the move reads them
      // at its start, and the queue asks here at each burial).
      deadLetters: () => queueMicrotask(() => this.moveDeadLetters()),
    };
    const cfg = config(env);
    this.queue = new ChannelQueue(new SqlChannelStore(ctx.storage), host, cfg.maxMsgTimeout, { percentiles: cfg.e2ePercentiles, windowMs: cfg.e2eWindowTime });
    // Consumers that stayed connected while this object hibernated; their links' sequence
    // starts at whatever comes first.
    for (const ws of ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as ConsumerState | null;
      if (a) this.addLink(link(ws, a, new LinkInbox(null)));
    }
    // Dead letters buried before a restart and not yet moved.
    if (this.queue.dead > 0) setTimeout(() => this.moveDeadLetters(), 0);
  }

  // ---- the topic's RPCs ------------------------------------------------------------------

  init(topic: string, channel: string, generation: number, topicTtl = 0) {
    this.queue.init(topic, channel, generation);
    this.queue.setTopicTtl(topicTtl);
  }

  settings(): ChannelSettings | null {
    return this.queue.topic === null ? null : this.queue.settings;
  }

  configure(settings: ChannelSettings) {
    this.queue.configure(settings);
  }

  setTopicTtl(ms: number) {
    this.queue.setTopicTtl(ms);
  }

  held(): Held {
    return this.queue.held();
  }

  seek(t: number | null): number {
    this.requests++;
    return this.queue.seek(t);
  }

  /** Up to n queued messages, changing nothing (bodies copied out of their segments). */
  peek(n: number): PeekedMessage[] {
    return this.queue.peek(n).map((m) => ({ ...m, body: m.body.slice() }));
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
  push(segments: Uint8Array[], topic?: { count: number; bytes: number }): Held {
    this.requests++;
    return this.queue.push(segments, topic);
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
    return s && { ...s, requests: this.requests, ...(this.redriving ? { redrive: { ...this.redriving } } : {}) };
  }

  // ---- dead letters ----------------------------------------------------------------------

  /** Hands buried messages to the dead-letter topic, a batch at a time; one mover at a time. */
  private moveDeadLetters() {
    if (this.moving || this.queue.dead === 0 || this.queue.topic === null) return;
    this.moving = true;
    this.ctx.waitUntil(
      this.moveAll()
        .catch((e) => {
          console.error(`channel: moving dead letters failed; again in ${DEAD_RETRY_MS} ms: ${e}`);
          setTimeout(() => this.moveDeadLetters(), DEAD_RETRY_MS);
        })
        .finally(() => (this.moving = false)),
    );
  }

  private async moveAll() {
    while (this.queue.dead > 0 && this.queue.topic !== null) {
      const rows = this.queue.deadLetters(DEAD_BATCH);
      if (rows.length === 0) return;
      const topic = shardOf(this.queue.topic).topic;
      const channel = this.queue.channel!;
      // (Messages buried before max_attempts was turned off still go where they were headed.)
      const target = deadLetterTarget(topic, this.queue.settings);
      const zeros = rows.map(() => 0);
      const segments = packSegments({ ids: zeros, ts: zeros, bodies: rows.map((r) => new Uint8Array(r[3])), metas: rows.map((r) => originMeta(topic, channel, r)) });
      const units = packUnits(rows.map((r) => ({ n: 1, key: deadKey(topic, channel, r[0]) })));
      // One shard of a sharded dead-letter topic per channel: a retried move meets its keys there.
      const answer = await onShard(this.env, target, `${topic}/${channel}`, (shard) => topicStub(this.env, shard).publish(shard, segments, { units, system: true }));
      const taken = rows.filter((_, i) => !answer?.[i]).map((r) => r[0]);
      this.queue.buried(taken);
      if (taken.length < rows.length) throw new Error(`${target} refused ${rows.length - taken.length} dead letters (${answer!.find((a) => a)})`);
    }
  }

  /** Starts (rate > 0, messages/s), retunes, or stops (0) the redrive of this channel's messages. */
  redrive(rate: number, to: "channel" | "topic"): RedriveState | null {
    if (rate <= 0) {
      if (this.redriving) this.redriving.running = false;
      return this.redriving && { ...this.redriving };
    }
    if (this.redriving?.running) Object.assign(this.redriving, { rate, to });
    else {
      const state: RedriveState = { rate, to, moved: 0, running: true, error: "" };
      this.redriving = state;
      this.ctx.waitUntil(this.redriveAll(state));
    }
    return { ...this.redriving! };
  }

  /**
   * Moves messages with an origin back to it, `rate` a second, until none is ready: to their
   * channel (only it gets them again) or their topic (every channel). A message without an
   * origin stays, and ends the redrive when only such are left.
   */
  private async redriveAll(state: RedriveState) {
    while (state.running && this.queue.topic !== null) {
      const started = Date.now();
      const borrowed = this.queue.borrow(Math.min(state.rate, REDRIVE_BATCH));
      if (borrowed.msgs.length === 0) break;
      // Each message's origin, read once; those without one stay.
      const back: { m: (typeof borrowed.msgs)[number]; o: Origin }[] = [];
      const stay: typeof borrowed.msgs = [];
      for (const m of borrowed.msgs) {
        const o = originOf(m.meta);
        if (o) back.push({ m, o });
        else stay.push(m);
      }
      if (stay.length > 0) this.queue.returned({ msgs: stay, epoch: borrowed.epoch }, false);
      if (back.length === 0) {
        state.error = "only messages without an origin are left";
        break;
      }
      const groups = new Map<string, typeof back>();
      for (const b of back) {
        const key = state.to === "channel" ? `${b.o.topic}/${b.o.channel}` : b.o.topic;
        const g = groups.get(key);
        if (g) g.push(b);
        else groups.set(key, [b]);
      }
      try {
        for (const g of groups.values()) {
          const o = g[0]!.o;
          const zeros = g.map(() => 0);
          const segments = packSegments({ ids: zeros, ts: zeros, bodies: g.map((b) => b.m.body) });
          const options = { units: packUnits(g.map((b) => ({ n: 1, key: redriveKey(b.o, b.m.id) }))), system: true, ...(state.to === "channel" ? { channel: o.channel } : {}) };
          await onShard(this.env, o.topic, undefined, (shard) => topicStub(this.env, shard).publish(shard, segments, options));
        }
        this.queue.returned({ msgs: back.map((b) => b.m), epoch: borrowed.epoch }, true);
        state.moved += back.length;
      } catch (e) {
        this.queue.returned({ msgs: back.map((b) => b.m), epoch: borrowed.epoch }, false);
        state.error = String(e);
        break;
      }
      const wait = (borrowed.msgs.length * 1000) / state.rate - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    state.running = false;
  }

  // ---- consumers' links ------------------------------------------------------------------

  /**
   * A V2 session subscribes: the Worker opens a WebSocket here that carries its channel commands.
   * Or a client's own upgrade, handed over by the Worker, whose session this object runs.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const session = channelSessionOf(request);
    if (session) return this.serveSession(session);
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
   * A client that named this channel in its /ws URL (src/v2/channel-session.ts): its V2 session
   * runs here, and its SUB of this channel is linked inside the object (src/v2/local-link.ts).
   */
  private serveSession(s: ChannelSession): Response {
    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.accept();
    ws.addEventListener("message", () => void this.requests++);
    const local = { topic: s.topic, channel: s.channel, join: (info: ClientInfo) => this.joinLocal(info) };
    new V2Session(ws, this.env, config(this.env), s.remoteAddress, s.upgradeAuth, local).keepWhileAllowed(s.topic, s.channel);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** A session of this object subscribes: its link, or null if the channel is gone (SUB retries). */
  private joinLocal(info: ClientInfo): WebSocket | null {
    if (this.queue.topic === null) return null;
    const [sessionEnd, channelEnd] = localLink({
      message: (end, data) => this.onLinkMessage(end, data),
      close: (end, code, reason) => this.webSocketClose(end, code, reason),
    });
    this.addLink(link(channelEnd, { info, rdy: 0, closing: false }, new LinkInbox()));
    return sessionEnd;
  }

  override webSocketMessage(ws: WebSocket, data: ArrayBuffer | string) {
    this.requests++;
    this.onLinkMessage(ws, data);
  }

  /**
   * Channel commands from a session, already validated there: RDY, FIN, REQ, TOUCH, CLS, as
   * the binary records of src/protocol/link.ts after a 4-byte sequence number, run in order.
   */
  private onLinkMessage(ws: WebSocket, data: ArrayBuffer | string) {
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
