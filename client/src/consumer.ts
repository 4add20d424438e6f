// Consuming a topic's channel, as go-nsq's Consumer does: discovery through the lookup API (one
// connection per producer listed, re-polled on an interval), RDY spread over the connections
// by maxInFlight, exponential backoff after failures, maxAttempts, reconnection with jittered
// backoff, and a graceful close (CLS, then wait for messages in flight).
//
// Messages reach the application either through a handler (the `handler` option or
// `consumer.on("message", fn)`: resolving finishes the message, throwing requeues it with
// backoff) or through async iteration (`for await (const msg of consumer)`: the message is
// finished when the loop asks for the next one).
import * as cmd from "../../src/protocol/commands.js";
import type { MessageFrame } from "../../src/protocol/frames.js";
import { isValidName } from "../../src/protocol/names.js";
import { BackoffController, type Outcome } from "./backoff.js";
import { Connection } from "./connection.js";
import { AuthError, ClosedError, NsqError, isConfigurationError } from "./errors.js";
import { Emitter } from "./events.js";
import { channelSocketUrl, defaultFetch, lookupAll } from "./lookup.js";
import { consumerSettings, type ConsumerEvents, type ConsumerOptions, type ConsumerSettings, type ConsumerStats } from "./consumer-options.js";
import { Inbox } from "./inbox.js";
import { Message, type MessageDelegate } from "./message.js";
import { rebalance, redistribute, setRdy } from "./rdy.js";
import { Reconnects } from "./reconnects.js";

export type { ConsumerEvents, ConsumerOptions, ConsumerStats, Handler } from "./consumer-options.js";

export class Consumer extends Emitter<ConsumerEvents> implements AsyncIterable<Message> {
  private readonly opts: ConsumerSettings;
  private readonly inbox: Inbox;
  private readonly lookupUrls: string[];
  /** The producers to be connected to: from the last lookup, or nsqdUrls. */
  private wanted = new Set<string>();
  private conns = new Map<string, Connection>();
  private connecting = new Set<string>();
  private readonly reconnects: Reconnects;
  private delegates = new WeakMap<Connection, MessageDelegate>();
  private backoff: BackoffController;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private redistributeTimer: ReturnType<typeof setInterval> | null = null;
  private polling: Promise<void> | null = null;

  private stopping = false;
  private closePromise: Promise<void> | null = null;
  private closeWaiters: (() => void)[] = [];
  private readyWaiters: { resolve(): void; reject(e: unknown): void }[] = [];
  private everConnected = false;
  /** Why the last attempt was refused (credentials, a bad name), until a connection is made: ready() rejects with it. */
  private refused: unknown = null;
  private counters = { received: 0, finished: 0, requeued: 0, discarded: 0 };

  constructor(
    readonly topic: string,
    readonly channel: string,
    private readonly options: ConsumerOptions = {},
  ) {
    super();
    const o = options;
    this.opts = consumerSettings(o);
    this.inbox = new Inbox(this.opts.autoResponse);
    this.reconnects = new Reconnects(this.opts.reconnectDelay, this.opts.maxReconnectDelay);
    if (!(this.opts.maxInFlight >= 0)) throw new RangeError("maxInFlight must be 0 or more");
    // As go-nsq's NewConsumer, names are checked here (with nsqd's rules and error codes).
    for (const [what, name] of [["topic", topic], ["channel", channel]])
      if (typeof name !== "string" || !isValidName(name))
        throw new NsqError(`E_BAD_${what.toUpperCase()} SUB ${what} name ${JSON.stringify(name)} is not valid`);
    this.lookupUrls = o.url === undefined ? [] : Array.isArray(o.url) ? o.url : [o.url];
    if (this.lookupUrls.length === 0 && !o.nsqdUrls?.length) throw new TypeError("a Consumer needs `url` (lookup) or `nsqdUrls`");
    if (o.handler) this.on("message", o.handler);
    this.backoff = new BackoffController(this.opts.backoffMultiplier, this.opts.maxBackoffDuration, {
      pause: (ms, level) => {
        for (const c of this.live()) setRdy(c, 0);
        this.emit("backoff", ms, level);
      },
      test: () => {
        const live = this.live();
        if (live.length === 0) return false;
        // While in backoff, only ever one message at a time: RDY 1 on one connection.
        setRdy(live[Math.floor(Math.random() * live.length)], 1);
        return true;
      },
      resume: () => {
        this.rebalance();
        this.emit("resume");
      },
    });
    for (const u of o.nsqdUrls ?? []) this.wanted.add(u);
    // Start on the next turn, so that listeners registered right after construction see everything.
    setTimeout(() => this.start(), 0);
  }

  // ---- public API ------------------------------------------------------------------------

  /** Registers a listener; a "message" listener also takes the messages buffered so far. */
  override on<K extends keyof ConsumerEvents>(event: K, listener: ConsumerEvents[K]): this {
    super.on(event, listener);
    if (event === "message") {
      for (const m of this.inbox.take()) this.dispatch(m);
    }
    return this;
  }

  /**
   * Resolves once a connection is subscribed (at once if one already was); rejects if the
   * server refused the credentials (AuthError) or the names before any connection was made.
   */
  ready(): Promise<void> {
    if (this.everConnected) return Promise.resolve();
    if (this.stopping) return Promise.reject(new ClosedError("the consumer is closed"));
    if (this.refused) return Promise.reject(this.refused);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Changes maxInFlight and redistributes RDY. */
  changeMaxInFlight(n: number) {
    this.opts.maxInFlight = n;
    this.rebalance();
  }

  get maxInFlight(): number {
    return this.opts.maxInFlight;
  }

  /** True if any connection has (nearly) as many messages in flight as its RDY: batch now. */
  isStarved(): boolean {
    for (const c of this.conns.values()) if (c.inFlight > 0 && c.inFlight >= c.rdy * 0.85) return true;
    return false;
  }

  stats(): ConsumerStats {
    let inFlight = 0;
    let rdy = 0;
    for (const c of this.conns.values()) {
      inFlight += c.inFlight;
      rdy += c.rdy;
    }
    return {
      messagesReceived: this.counters.received,
      messagesFinished: this.counters.finished,
      messagesRequeued: this.counters.requeued,
      messagesDiscarded: this.counters.discarded,
      connections: this.conns.size,
      inFlight,
      rdy,
      backoffLevel: this.backoff.level,
    };
  }

  /** The WebSocket URLs of the open connections. */
  get connections(): string[] {
    return [...this.conns.keys()];
  }

  /**
   * Stops consuming: CLS on every connection (the server sends no more messages), requeues
   * messages not yet handed out, waits up to `timeoutMs` (default: closeTimeout) for the ones in
   * flight to be finished or requeued, then closes the connections. Idempotent.
   */
  close(timeoutMs = this.opts.closeTimeout): Promise<void> {
    this.closePromise ??= this.shutdown(timeoutMs);
    return this.closePromise;
  }

  /** Async iteration: each message is finished when the loop asks for the next one (unless answered). */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => this.inbox.next(this.stopping),
      // Leaving the loop (break, return, throw) requeues the current message unless it was
      // answered, and closes the consumer.
      return: async () => {
        this.inbox.leave();
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  // ---- discovery and connections -----------------------------------------------------------

  private start() {
    if (this.stopping) return;
    if (this.lookupUrls.length) {
      void this.poll();
    } else {
      for (const u of this.wanted) void this.connectTo(u);
    }
    if (this.opts.rdyRedistributeInterval > 0)
      this.redistributeTimer = setInterval(() => this.redistribute(), this.opts.rdyRedistributeInterval);
  }

  /** Queries the lookup API, connects to new producers, and schedules the next poll. */
  private poll(): Promise<void> {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.polling ??= this.queryLookup()
      .then(() => {
        for (const u of this.wanted) if (!this.conns.has(u) && !this.connecting.has(u) && !this.reconnects.waiting(u)) void this.connectTo(u);
      })
      .finally(() => {
        this.polling = null;
        if (this.stopping || !this.lookupUrls.length) return;
        const o = this.opts;
        const delay = o.lookupdPollInterval * (1 + Math.random() * o.lookupdPollJitter);
        if (this.pollTimer !== null) clearTimeout(this.pollTimer);
        this.pollTimer = setTimeout(() => void this.poll(), delay);
      });
    return this.polling;
  }

  /** Asks every lookup URL for the topic's producers; true if at least one answered. */
  private async queryLookup(): Promise<boolean> {
    const found = await lookupAll(
      this.lookupUrls,
      this.topic,
      this.options.fetch ?? defaultFetch(),
      (e) => {
        this.emit("error", e);
        if (e instanceof AuthError) this.failReady(e);
      },
      this.options.authSecret,
    );
    if (found) this.wanted = found;
    return found !== null;
  }

  private async connectTo(url: string) {
    if (this.stopping || this.conns.has(url) || this.connecting.has(url)) return;
    this.connecting.add(url);
    let conn: Connection | null = null;
    try {
      conn = await Connection.open(
        url,
        this.options,
        {
          message: (c, raw) => this.onMessage(c, raw),
          error: (_c, err) => this.emit("error", err),
          close: (c, err) => this.onClose(c, err),
        },
        this.options.servedByChannel ? channelSocketUrl(url, this.topic, this.channel) : url,
      );
      await conn.subscribe(this.topic, this.channel, this.options.dialTimeout ?? 5000);
    } catch (e) {
      this.connecting.delete(url);
      conn?.destroy();
      this.emit("error", e);
      // Refused credentials fail ready() rather than leave it waiting; the reconnects back off
      // (an E_AUTH_FAILED may be the auth server down, a permission may be granted later).
      if (e instanceof AuthError) this.failReady(e);
      // A bad name or a missing authSecret will be refused again: no retry (the lookup poll
      // still tries at its interval).
      if (isConfigurationError(e)) return this.failReady(e);
      this.scheduleReconnect(url);
      return;
    }
    this.connecting.delete(url);
    if (this.stopping || conn.closed) {
      conn.close();
      return;
    }
    this.reconnects.forget(url);
    conn.lastMessageAt = Date.now();
    this.conns.set(url, conn);
    this.delegates.set(conn, this.delegateFor(conn));
    this.everConnected = true;
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.emit("connect", url);
    this.rebalance();
  }

  private failReady(e: unknown) {
    this.refused = e;
    for (const w of this.readyWaiters.splice(0)) w.reject(e);
  }

  private onClose(conn: Connection, err?: Error) {
    if (this.conns.get(conn.url) !== conn) return;
    this.conns.delete(conn.url);
    conn.rdy = 0;
    conn.inFlight = 0;
    this.emit("disconnect", conn.url, err);
    if (this.stopping) {
      this.checkClosed();
      return;
    }
    this.scheduleReconnect(conn.url);
    this.rebalance();
  }

  /**
   * Reconnects after a jittered, growing delay. With lookup, the producer is looked up again
   * first and only reconnected if still listed (as NSQ asks of lookup-based clients).
   */
  private scheduleReconnect(url: string) {
    if (this.stopping) return;
    this.reconnects.schedule(url, async () => {
      if (this.stopping) return;
      if (this.lookupUrls.length) {
        const answered = await this.queryLookup();
        if (this.stopping) return;
        if (!answered) return this.scheduleReconnect(url);
        if (!this.wanted.has(url)) return this.reconnects.forget(url);
      }
      void this.connectTo(url);
    });
  }

  /** Open connections that may get RDY. */
  private live(): Connection[] {
    return [...this.conns.values()].filter((c) => !c.closed && !c.closing);
  }

  // ---- RDY ---------------------------------------------------------------------------------

  private rebalance() {
    if (this.stopping || this.backoff.active) return;
    rebalance(this.live(), this.opts.maxInFlight);
  }

  private redistribute() {
    if (this.stopping || this.backoff.active) return;
    redistribute(this.live(), this.opts.maxInFlight, this.opts.lowRdyIdleTimeout, Date.now());
  }

  // ---- messages ----------------------------------------------------------------------------

  private onMessage(conn: Connection, raw: MessageFrame) {
    conn.inFlight++;
    conn.lastMessageAt = Date.now();
    this.counters.received++;
    const msg = new Message(raw, conn.url, this.delegates.get(conn) ?? this.delegateFor(conn));
    if (this.stopping) {
      // Sent before the server saw CLS: give it back at once.
      msg.requeue(0, false);
      return;
    }
    if (this.opts.maxAttempts > 0 && msg.attempts > this.opts.maxAttempts) {
      this.counters.discarded++;
      this.emit("discard", msg);
      msg.finish();
      return;
    }
    this.dispatch(msg);
  }

  private dispatch(msg: Message) {
    if (this.listenerCount("message") === 0) {
      this.inbox.deliver(msg);
      return;
    }
    let results: unknown[];
    try {
      results = this.emit("message", msg);
    } catch (e) {
      results = [Promise.reject(e)];
    }
    const auto = this.opts.autoResponse;
    Promise.all(results).then(
      () => {
        if (auto && !msg.isAutoResponseDisabled) msg.finish();
      },
      (err) => {
        this.emit("error", err);
        if (auto && !msg.isAutoResponseDisabled) msg.requeue();
      },
    );
  }

  private delegateFor(conn: Connection): MessageDelegate {
    return {
      finish: (m) => {
        if (conn.closed) return; // the server already requeued it
        conn.write(cmd.fin(m.id));
        this.counters.finished++;
        this.answered(conn, "success");
      },
      requeue: (m, delayMs, backoff) => {
        if (conn.closed) return;
        const o = this.opts;
        const delay = delayMs ?? Math.min(o.defaultRequeueDelay * m.attempts, o.maxRequeueDelay);
        conn.write(cmd.req(m.id, Math.max(0, Math.round(delay))));
        this.counters.requeued++;
        this.answered(conn, backoff ? "failure" : "continue");
      },
      touch: (m) => {
        if (!conn.closed) conn.write(cmd.touch(m.id));
      },
    };
  }

  private answered(conn: Connection, outcome: Outcome) {
    conn.inFlight = Math.max(0, conn.inFlight - 1);
    if (this.stopping) {
      this.checkClosed();
      return;
    }
    this.backoff.signal(outcome);
  }

  // ---- closing -----------------------------------------------------------------------------

  private async shutdown(timeoutMs: number) {
    this.stopping = true;
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    if (this.redistributeTimer !== null) clearInterval(this.redistributeTimer);
    this.pollTimer = this.redistributeTimer = null;
    this.reconnects.stop();
    this.backoff.stop();
    for (const w of this.readyWaiters.splice(0)) w.reject(new ClosedError("the consumer is closed"));
    for (const c of this.conns.values()) {
      c.closing = true;
      c.command(cmd.cls()).catch(() => {});
    }
    // Messages nobody took yet go back now; iterators waiting for one end.
    for (const m of this.inbox.take()) m.requeue(0, false);
    this.inbox.end();
    if (this.inFlightTotal() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.closeWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const c of [...this.conns.values()]) c.close();
    this.conns.clear();
    this.emit("close");
  }

  private inFlightTotal(): number {
    let n = 0;
    for (const c of this.conns.values()) n += c.inFlight;
    return n;
  }

  private checkClosed() {
    if (this.inFlightTotal() === 0) for (const w of this.closeWaiters.splice(0)) w();
  }
}
