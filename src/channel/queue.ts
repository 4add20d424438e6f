// ChannelQueue: one channel's queue, in nsqd's vocabulary (PutMessage, StartInFlightTimeout,
// FinishMessage, RequeueMessage, TouchMessage, AddClient, RemoveClient, Empty, Pause). It never
// sees the wire: verbs return nsqd's reasons, which the object maps to E_FIN_FAILED etc., and
// deliveries, timers, the clock and randomness go through its host (host.ts).
//
// Storage (store.ts): the topic's pushes arrive as segments of up to ~1,000 messages, stored as
// they came with a bitmap of the done ones (done-bits.ts). Delivery does not write: the in-flight
// set is memory, rebuilt as "everything stored is ready" after a restart, so a message is either
// FINished or delivered again. Requeued and deferred messages are rows of their own with a due time.
//
// nsq-edge's settings (src/settings.ts) act here: a message that fails once more at max_attempts
// is buried (a row of `dead`, in the event that takes it out; the object hands it on to the
// dead-letter topic), one past its TTL is never delivered, and overflow drop_oldest pushes the
// oldest out after a push beyond max_depth or max_bytes. With a retention, FINished messages stay
// stored (a segment whose messages are all done is kept, a FINished row moves to `retained`)
// until their time is past it, and seek() makes those since a time ready again.
import type { ChannelStats } from "../stats";
import type { PeekedMessage } from "../objects";
import { shardOf } from "../topic/shards";
import { deadLetterTopic, effectiveTtl, showChannelSettings, CHANNEL_DEFAULTS, type ChannelSettings } from "../settings";
import { unpackSegment, type Segment } from "../segment";
import { clientStats, type Consumer } from "./consumer";
import { ACK_DELAY_MS, DoneBits, isDone, segmentState, type Place } from "./done-bits";
import { InFlightTable, type NotTaken } from "./in-flight";
import { ingest, ingestPlan } from "./ingest";
import { FairShare } from "./share";
import type { ChannelHost } from "./host";
import type { ChannelCounts, ChannelStore } from "./store";
import { ReadyWindow, type Ready } from "./window";
import { LatencyWindow, latencyOf } from "./latency";

/** nsqd's e2e processing latency options (no percentiles: not recorded). */
export interface LatencyOptions {
  percentiles: number[];
  windowMs: number;
}

/** Retained messages past the retention are forgotten at most this often. */
const PRUNE_EVERY_MS = 60_000;

export class ChannelQueue<C> {
  // What init() stored (null topic: no such channel, or deleted); read by the object.
  topic: string | null = null;
  channel: string | null = null;
  generation = 0;
  paused = false;
  settings: ChannelSettings = CHANNEL_DEFAULTS;
  /** The topic's msg_ttl, as it last told. */
  private topicTtl = 0;
  /** Rows of `dead` not yet handed to the dead-letter topic. */
  dead = 0;

  /** In turn order: a consumer joins at the end. */
  private consumers = new Set<Consumer<C>>();
  private turns = 0;
  private share = new FairShare();
  /** The consumers of the pump under way, in share order (reused). */
  private ready: Consumer<C>[] = [];
  private inFlight: InFlightTable<Consumer<C>>;
  private window = new ReadyWindow();
  private bits = new DoneBits();
  private flushScheduled = false;
  /** Rows done in this event (FIN, dropped by sample_rate): deleted together. */
  private doneRows: number[] = [];
  /** This event wrote (a push, a move to a row): its done bits go in the same commit. */
  private writing = false;
  /**
   * The segment last unpacked to move a message out of it (a REQ, a dead letter), kept across
   * events: REQs come one per event in runs from the same segment, and a stored segment never
   * changes (one segment in memory, at most 128 KB).
   */
  private unpacked: { id: number; seg: Segment } | null = null;
  /** Bumped when the queue is emptied: messages borrowed before it are not returned into it. */
  private epoch = 0;
  /** The highest message id stored in a segment: a push above it cannot hold a duplicate. */
  private lastId = 0;
  /** Earliest `due` among stored deferred/requeued rows (Infinity: none). */
  private nextDue = Infinity;
  private stored = 0;
  private storedBytes = 0;
  /** The alarm set (Infinity: none that this queue knows of). */
  private alarmAt = Infinity;
  /** When retained messages past the retention were last forgotten. */
  private prunedAt = 0;

  // What /stats counts, stored with the messages they count: in a push's transaction, or in the
  // event that requeues (settle()). With them, the topic's own counts as of its latest push here:
  // the topic stores no message of a fan-out, so it reads them back after a restart.
  private messageCount = 0;
  private requeueCount = 0;
  private timeoutCount = 0;
  private deadCount = 0;
  private expiredCount = 0;
  private droppedCount = 0;
  // FINs and deliveries, for /metrics: counted in memory, shown as last written (written with
  // the done bits, so a counter never goes back after a restart).
  private finishCount = 0;
  private deliveryCount = 0;
  private saved = { finishCount: 0, deliveryCount: 0 };
  private latency: LatencyWindow | null = null;
  private topicMessageCount = 0;
  private topicMessageBytes = 0;
  private countsChanged = false;

  constructor(
    private store: ChannelStore,
    private host: ChannelHost<C>,
    maxMsgTimeout: number,
    private readonly latencyOptions: LatencyOptions = { percentiles: [], windowMs: 600_000 },
  ) {
    this.inFlight = new InFlightTable(maxMsgTimeout);
    this.load();
  }

  /** Memory from storage, as after a restart: everything stored is ready. */
  load() {
    const s = this.store.load(this.host.now());
    this.topic = s.topic;
    this.channel = s.channel;
    this.generation = s.generation;
    this.paused = s.paused;
    this.settings = s.settings;
    this.topicTtl = s.topicTtl;
    this.dead = s.dead;
    this.messageCount = s.messageCount;
    this.requeueCount = s.requeueCount;
    this.timeoutCount = s.timeoutCount;
    this.deadCount = s.deadCount;
    this.expiredCount = s.expiredCount;
    this.droppedCount = s.droppedCount;
    this.finishCount = s.finishCount;
    this.deliveryCount = s.deliveryCount;
    this.saved = { finishCount: s.finishCount, deliveryCount: s.deliveryCount };
    const { percentiles, windowMs } = this.latencyOptions;
    this.latency = percentiles.length > 0 ? new LatencyWindow(windowMs, this.host.now()) : null;
    this.topicMessageCount = s.topicMessageCount;
    this.topicMessageBytes = s.topicMessageBytes;
    this.countsChanged = false;
    this.stored = s.stored;
    this.storedBytes = s.storedBytes;
    this.lastId = s.lastId;
    this.nextDue = this.store.minDue();
    this.window.reset(s.segmented === 0, true);
    this.inFlight.clear();
    this.bits.clear();
  }

  // ---- lifecycle -------------------------------------------------------------------------

  init(topic: string, channel: string, generation: number) {
    if (this.topic === topic && this.channel === channel && this.generation === generation) return;
    this.topic = topic;
    this.channel = channel;
    this.generation = generation;
    this.store.setMeta("topic", topic);
    this.store.setMeta("channel", channel);
    this.store.setMeta("generation", generation);
  }

  /** New settings (validated by src/settings.ts): kept, and in force from this event on. */
  configure(settings: ChannelSettings) {
    const shorter = settings.retention < this.settings.retention;
    this.settings = settings;
    this.store.setMeta("settings", JSON.stringify(settings));
    if (shorter) this.pruneRetained(true);
    this.enforceBounds();
    this.settle();
  }

  /** The topic's msg_ttl (it tells each channel when it changes, and at init). */
  setTopicTtl(ms: number) {
    if (ms === this.topicTtl) return;
    this.topicTtl = ms;
    this.store.setMeta("topic_ttl", ms);
  }

  /** The dead-letter topic, or "" when the channel has none. */
  get deadLetterTopic(): string {
    return this.topic === null ? "" : deadLetterTopic(shardOf(this.topic).topic, this.settings);
  }

  /** What the channel holds (queued, in flight, deferred): what max_depth and max_bytes bound. */
  held(): { count: number; bytes: number } {
    return { count: this.stored, bytes: this.storedBytes };
  }

  /** Before the object deletes its storage: consumers and the alarm are gone. */
  forget() {
    this.epoch++;
    this.unpacked = null;
    this.consumers.clear();
    this.alarmAt = Infinity;
    this.bits.clear();
    this.cancelFlush();
    this.host.cancelTimeouts();
  }

  /** The pending write of done bits, if any, is off (they are written now, or dropped). */
  private cancelFlush() {
    if (this.flushScheduled) this.host.cancelFlushAcks();
    this.flushScheduled = false;
  }

  // ---- messages in -----------------------------------------------------------------------

  /** PutMessage for a batch of segments; `topic` is the topic's message count and bytes so far. */
  push(segments: Uint8Array[], topic?: { count: number; bytes: number }): { count: number; bytes: number } {
    // The topic adds a channel to its fan-out only after init(): a push here means it was
    // deleted meanwhile, and the topic drops the copy.
    if (this.topic === null) throw new Error("CHANNEL_NOT_FOUND");
    const now = this.host.now();
    // Memory follows storage only once the transaction has committed: a push that fails midway
    // leaves neither.
    const plan = ingestPlan(this.lastId);
    // Pushes from the topic's fan-out, drain and retries may commit out of order: the most it has told.
    const topicCount = Math.max(this.topicMessageCount, topic?.count ?? 0);
    const topicBytes = Math.max(this.topicMessageBytes, topic?.bytes ?? 0);
    this.store.transaction(() => {
      for (const buf of segments) ingest(this.store, buf, now, plan);
      this.store.saveCounts({ ...this.counts(), messageCount: this.messageCount + plan.added, topicMessageCount: topicCount, topicMessageBytes: topicBytes });
    });
    this.saved = { finishCount: this.finishCount, deliveryCount: this.deliveryCount };
    this.countsChanged = false;
    this.topicMessageCount = topicCount;
    this.topicMessageBytes = topicBytes;
    this.lastId = plan.lastId;
    // Without consumers nothing is read into memory: a channel nobody reads holds no window.
    for (const { id, buf } of plan.segments) this.window.offer(id, buf, this.consumers.size > 0);
    if (plan.nextDue < this.nextDue) this.nextDue = plan.nextDue;
    this.stored += plan.added;
    this.storedBytes += plan.bytes;
    this.messageCount += plan.added;
    this.writing = true;
    if (this.settings.retention > 0) this.pruneRetained();
    this.enforceBounds();
    this.settle();
    return this.held();
  }

  /** overflow drop_oldest: the oldest ready messages go while the channel holds more than its bounds. */
  private enforceBounds() {
    const { overflow, max_depth, max_bytes } = this.settings;
    if (overflow !== "drop_oldest" || (max_depth === 0 && max_bytes === 0)) return;
    const now = this.host.now();
    for (;;) {
      const overCount = max_depth > 0 ? this.stored - max_depth : 0;
      const overBytes = max_bytes > 0 ? this.storedBytes - max_bytes : 0;
      if (overCount <= 0 && overBytes <= 0) break;
      // Bytes over, in messages of the average size held (at least one).
      const average = this.stored > 0 ? this.storedBytes / this.stored : 1;
      const n = Math.min(1000, Math.max(overCount, Math.ceil(overBytes / Math.max(1, average)), 1));
      const msgs = this.take(n, now);
      if (msgs.length === 0) break;
      for (const m of msgs) this.finish(m, m.body.length);
      this.droppedCount += msgs.length;
      this.countsChanged = true;
      this.writing = true;
    }
  }

  // ---- consumers -------------------------------------------------------------------------

  addClient(c: Consumer<C>) {
    c.turn = ++this.turns;
    this.consumers.add(c);
  }

  /** A consumer is gone: what it had in flight is ready again at once (attempts counted). */
  removeClient(c: Consumer<C>) {
    if (!this.consumers.delete(c)) return;
    const now = this.host.now();
    for (const m of this.inFlight.removeOwner(c)) this.retry(m, now, "disconnected");
    this.settle();
  }

  setReady(c: Consumer<C>, count: number) {
    c.rdy = count;
  }

  /** CLS: it takes nothing more. */
  startClose(c: Consumer<C>) {
    c.closing = true;
    c.rdy = 0;
  }

  finishMessage(c: Consumer<C>, id: number): NotTaken | null {
    const m = this.inFlight.take(c, id);
    if (typeof m === "string") return m;
    c.inFlight--;
    this.finish(m, m.bytes);
    c.finishCount++;
    this.finishCount++;
    this.latency?.insert(m.ts, this.host.now());
    return null;
  }

  requeueMessage(c: Consumer<C>, id: number, delayMs: number): NotTaken | null {
    const m = this.inFlight.take(c, id);
    if (typeof m === "string") return m;
    c.inFlight--;
    this.retry(m, this.host.now() + delayMs, "requeued");
    c.requeueCount++;
    this.requeueCount++;
    this.countsChanged = true;
    return null;
  }

  touchMessage(c: Consumer<C>, id: number): NotTaken | null {
    const m = this.inFlight.touch(c, id, this.host.now() + c.info.msg_timeout);
    return typeof m === "string" ? m : null;
  }

  // ---- the end of every event ------------------------------------------------------------

  /** Deliver what can go, write what became done, arm the timers and the alarm. */
  settle() {
    if (this.doneRows.length) this.deleteDoneRows();
    this.pump();
    if (this.doneRows.length) this.deleteDoneRows();
    // With the requeues' rows, in this event's commit.
    if (this.countsChanged) this.saveCounts();
    // A FIN not yet written when the object crashes is delivered again (at-least-once, as
    // nsqd); stats() writes them first, so what it counts as finished is durable.
    const flush = this.bits.policy(this.writing);
    if (flush === "now") this.flushAcks();
    else if (flush === "later" && !this.flushScheduled) {
      this.flushScheduled = true;
      this.host.flushAcksIn(ACK_DELAY_MS);
    }
    this.writing = false;
    this.armAlarm();
    const deadline = this.inFlight.nextDeadline();
    if (deadline !== Infinity) this.host.timeoutsAt(deadline);
  }

  flushAcks() {
    this.cancelFlush();
    this.bits.flush(this.store, this.settings.retention > 0);
    // The FIN and delivery counters go with the bits of the FINs they count.
    if (this.finishCount !== this.saved.finishCount || this.deliveryCount !== this.saved.deliveryCount) this.saveCounts();
  }

  /** Forgets retained messages past the retention (all of them without one), now and then. */
  private pruneRetained(force = false) {
    const now = this.host.now();
    if (!force && now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    this.store.pruneRetained(this.settings.retention > 0 ? now - this.settings.retention : Infinity);
  }

  /** processInFlightQueue: messages past their deadline are ready again. */
  timeouts() {
    const now = this.host.now();
    for (const m of this.inFlight.expire(now)) {
      m.owner.inFlight--;
      this.timeoutCount++;
      this.countsChanged = true;
      this.retry(m, now, "timed out");
    }
    this.settle();
  }

  /** Deferred and requeued rows are due. */
  alarm() {
    this.alarmAt = Infinity;
    if (this.settings.retention > 0) this.pruneRetained();
    this.nextDue = this.store.minDue();
    this.settle();
  }

  private counts(): ChannelCounts {
    return {
      messageCount: this.messageCount,
      requeueCount: this.requeueCount,
      timeoutCount: this.timeoutCount,
      deadCount: this.deadCount,
      expiredCount: this.expiredCount,
      droppedCount: this.droppedCount,
      finishCount: this.finishCount,
      deliveryCount: this.deliveryCount,
      topicMessageCount: this.topicMessageCount,
      topicMessageBytes: this.topicMessageBytes,
    };
  }

  private saveCounts() {
    this.store.saveCounts(this.counts());
    this.countsChanged = false;
    this.saved = { finishCount: this.finishCount, deliveryCount: this.deliveryCount };
  }

  /** Rows are in storage, so a durable alarm wakes the object for them. */
  private armAlarm() {
    // Ready now but no spare RDY: the next RDY, FIN or REQ pumps again. No consumer: a SUB does.
    if (this.consumers.size === 0 || this.nextDue <= this.host.now() || this.nextDue >= this.alarmAt) return;
    this.alarmAt = this.nextDue;
    this.host.setAlarm(this.nextDue);
  }

  // ---- delivery --------------------------------------------------------------------------

  /** Sends ready messages to consumers with spare RDY, one send per consumer (share.ts). */
  private pump() {
    if (this.paused) return;
    const share = this.share;
    const ready = this.ready;
    share.begin();
    ready.length = 0;
    for (const c of this.consumers) {
      const spare = c.closing ? 0 : c.rdy - c.inFlight;
      if (spare > 0) {
        share.add(spare, c.turn);
        ready.push(c);
      }
    }
    if (share.capacity === 0) return;
    const now = this.host.now();
    const msgs = this.takeLive(share.capacity, now);
    const n = msgs.length;
    if (n > 0) {
      share.plan(n);
      let at = 0;
      for (let k = 0; k < share.count && at < n; k++) {
        const i = share.at(k);
        const count = share.of(i);
        if (count === 0) continue;
        this.startInFlight(ready[i], msgs, at, at + count, now);
        at += count;
      }
    }
    ready.length = 0;
  }

  /** Delivers msgs[from, to) to `c` (StartInFlightTimeout for each). */
  private startInFlight(c: Consumer<C>, msgs: Ready[], from: number, to: number, now: number) {
    let list = msgs;
    const rate = c.info.sample_rate;
    if (rate > 0) {
      // nsqd's sample_rate: a message not sampled is gone for this channel.
      list = [];
      for (let i = from; i < to; i++) {
        if (Math.floor(this.host.random() * 100) > rate) this.finish(msgs[i], msgs[i].body.length);
        else list.push(msgs[i]);
      }
      from = 0;
      to = list.length;
    }
    if (from === to) return;
    if (!this.host.send(c.conn, list, from, to)) {
      // The session is gone; its close event follows. The messages are ready again, unattempted.
      for (let i = from; i < to; i++) this.requeue(list[i], now);
      return;
    }
    const deadline = now + c.info.msg_timeout;
    for (let i = from; i < to; i++) {
      const m = list[i];
      this.inFlight.add({ id: m.id, owner: c, attempts: m.attempts + 1, deliveredAt: now, deadline, bytes: m.body.length, ts: m.ts, seg: m.seg, index: m.index });
    }
    c.inFlight += to - from;
    c.messageCount += to - from;
    this.deliveryCount += to - from;
  }

  /** Up to `n` ready messages within their TTL; those past it are dropped or buried on the way. */
  private takeLive(n: number, now: number): Ready[] {
    const ttl = effectiveTtl(this.settings.msg_ttl, this.topicTtl);
    if (ttl === 0) return this.take(n, now);
    const out: Ready[] = [];
    while (out.length < n) {
      const msgs = this.take(n - out.length, now);
      if (msgs.length === 0) break;
      for (const m of msgs) {
        if (m.ts + ttl > now) out.push(m);
        else this.expire(m, now);
      }
    }
    return out;
  }

  private expire(m: Ready, now: number) {
    this.expiredCount++;
    this.countsChanged = true;
    if (this.deadLetterTopic !== "") this.bury(m, "expired", now, m.attempts);
    else {
      this.finish(m, m.body.length);
      this.writing = true;
    }
  }

  /** Up to `n` ready messages: requeued and due ones first, then fresh ones in id order. */
  private take(n: number, now: number): Ready[] {
    const out: Ready[] = [];
    if (this.nextDue <= now) {
      const ids: number[] = [];
      for (const [id, ts, attempts, body, meta] of this.store.dueRows(now, n)) {
        ids.push(id);
        out.push({ id, ts, attempts, body: new Uint8Array(body), meta, seg: null, index: 0 });
      }
      this.store.claimRows(ids);
      if (out.length < n) this.nextDue = this.store.minDue();
    }
    this.window.take(this.store, n - out.length, out);
    return out;
  }

  /** A message of `bytes` is done: its segment's bit, or its row (deleted with the others of the event). */
  private finish(m: Place & { id: number }, bytes: number) {
    if (m.seg) {
      this.bits.mark(m.seg, m.index);
      this.stored--;
    } else this.doneRows.push(m.id);
    this.storedBytes -= bytes;
  }

  private deleteDoneRows() {
    this.stored -= this.store.deleteRows(this.doneRows, this.settings.retention > 0);
    this.doneRows.length = 0;
  }

  /** A delivery failed (REQ, timeout, consumer gone): again at `due`, or buried at max_attempts. */
  private retry(m: Place & { id: number; attempts: number; bytes: number }, due: number, why: string) {
    const max = this.settings.max_attempts;
    if (max > 0 && m.attempts >= max) this.bury(m, `${why} after ${m.attempts} attempts`, this.host.now(), m.attempts);
    else this.requeue(m, due);
  }

  /**
   * Moves a message to `dead`, in this event's commit with its leaving the queue (its segment's
   * bit, or its row's deletion): it is in one place or the other, never neither.
   */
  private bury(m: Place & { id: number }, reason: string, now: number, attempts: number) {
    let ts: number, body: Uint8Array, meta: string | null;
    if (m.seg) {
      const seg = this.segment(m.seg.id);
      ts = seg.ts[m.index];
      body = seg.bodies[m.index];
      meta = seg.metas?.[m.index] ?? null;
    } else {
      const row = this.store.row(m.id);
      if (row === null) return;
      ts = row[1];
      body = new Uint8Array(row[3]);
      meta = row[4];
    }
    this.store.bury(m.id, ts, attempts, body, meta, reason, now);
    this.finish(m, body.length);
    this.dead++;
    this.deadCount++;
    this.countsChanged = true;
    this.writing = true;
    this.host.deadLetters();
  }

  /** Dead letters to hand on, oldest first; buried() once the dead-letter topic has them. */
  deadLetters(limit: number) {
    return this.store.deadRows(limit);
  }

  buried(ids: number[]) {
    this.store.deleteDead(ids);
    this.dead = Math.max(0, this.dead - ids.length);
  }

  /**
   * Puts a message back in the queue, ready at `due` (now for an immediate retry). A message
   * from a segment moves to a row of its own, which carries its attempts and due time.
   */
  private requeue(m: Place & { id: number; attempts: number }, due: number) {
    const at = Math.max(due, 1);
    if (m.seg) {
      const seg = this.segment(m.seg.id);
      this.store.saveRow(m.id, seg.ts[m.index], m.attempts, at, seg.bodies[m.index], seg.metas?.[m.index] ?? null);
      this.bits.mark(m.seg, m.index);
      // The row and its segment's bit commit together, or the message would be in both.
      this.writing = true;
    } else {
      this.store.updateRow(m.id, m.attempts, at);
    }
    if (at < this.nextDue) this.nextDue = at;
  }

  /** A stored segment, unpacked (requeues come in runs from the same segment: one read each). */
  private segment(id: number): Segment {
    if (this.unpacked?.id !== id) this.unpacked = { id, seg: unpackSegment(this.store.segmentData(id)) };
    return this.unpacked.seg;
  }

  // ---- administration --------------------------------------------------------------------

  /**
   * Replay (or skip): every message published at or after `t` is ready again, those before it
   * are done. FINished messages come back only from the retention (none without one). As
   * nsqd's empty, what is in flight is forgotten (a FIN for it answers E_FIN_FAILED) and goes by
   * the same rule. Returns the messages ready (or deferred) after it.
   */
  seek(at: number | null): number {
    if (this.topic === null) return -1;
    const now = this.host.now();
    const t = at ?? now;
    const retention = this.settings.retention;
    // Done messages at or after `floor` come back: within the retention, and not before `t`.
    const floor = retention > 0 ? Math.max(t, now - retention) : Infinity;
    this.flushAcks();
    this.inFlight.clear();
    for (const c of this.consumers) c.inFlight = 0;
    this.host.cancelTimeouts();
    this.bits.clear();
    this.store.transaction(() => {
      this.store.seekRows(t, floor, now, retention > 0);
      let cursor = 0;
      for (let batch = this.store.allSegments(0, 64); batch.length > 0; batch = this.store.allSegments(cursor, 64)) {
        for (const [id, data, done, stored] of batch) {
          cursor = id;
          const seg = unpackSegment(new Uint8Array(data));
          const before = segmentState(id, seg.count, stored ? { done: done!, bits: new Uint8Array(stored) } : null);
          // A message moved to a row (requeued, retained, dead) is there, not here.
          const rows = this.store.rowIdsBetween(seg.ids[0]!, seg.ids[seg.count - 1]!);
          const bits = new Uint8Array(Math.ceil(seg.count / 8));
          let n = 0;
          for (let i = 0; i < seg.count; i++) {
            const ts = seg.ts[i]!;
            const gone = ts < t || rows.has(seg.ids[i]!) || (isDone(before, i) && ts < floor);
            if (gone) {
              bits[i >> 3] |= 1 << (i & 7);
              n++;
            }
          }
          if (n >= seg.count && retention === 0) this.store.deleteSegment(id, true);
          else this.store.saveBits(id, n, bits);
        }
      }
    });
    const held = this.store.held();
    this.stored = held.stored;
    this.storedBytes = held.storedBytes;
    this.window.reset(false, true);
    this.nextDue = this.store.minDue();
    this.epoch++;
    this.settle();
    return this.stored;
  }

  /** Up to `n` queued messages (not in flight), in the order they would go, changing nothing. */
  peek(n: number): PeekedMessage[] {
    // Stored bitmaps as memory has them: a FIN not yet written is not shown as queued.
    this.flushAcks();
    const now = this.host.now();
    const rows = [...this.store.queuedRows(n)];
    const out: PeekedMessage[] = [];
    for (const [id, ts, attempts, body, meta, due] of rows) {
      if (due <= now) out.push({ id, ts, attempts, body: new Uint8Array(body), meta, due: 0 });
    }
    let cursor = 0;
    for (let more = true; more && out.length < n; ) {
      more = false;
      for (const [id, data, done, bits] of this.store.segmentsAfter(cursor, 16)) {
        more = true;
        cursor = id;
        const seg = unpackSegment(new Uint8Array(data));
        const state = segmentState(id, seg.count, bits ? { done: done!, bits: new Uint8Array(bits) } : null);
        for (let i = 0; i < seg.count && out.length < n; i++) {
          if (isDone(state, i) || this.inFlight.has(seg.ids[i])) continue;
          out.push({ id: seg.ids[i], ts: seg.ts[i], attempts: 0, body: seg.bodies[i], meta: seg.metas?.[i] ?? null, due: 0 });
        }
        if (out.length >= n) break;
      }
    }
    for (const [id, ts, attempts, body, meta, due] of rows) {
      if (due > now && out.length < n) out.push({ id, ts, attempts, body: new Uint8Array(body), meta, due });
    }
    return out;
  }

  /**
   * Up to `n` ready messages taken out of the queue for the redrive (paused or not) until
   * returned(): they stay stored, so a restart meanwhile finds them ready again.
   */
  borrow(n: number): { msgs: Ready[]; epoch: number } {
    const msgs = this.takeLive(n, this.host.now());
    this.settle();
    return { msgs, epoch: this.epoch };
  }

  /** Borrowed messages come back: done (`delivered`), or ready again. */
  returned(borrowed: { msgs: Ready[]; epoch: number }, delivered: boolean) {
    if (borrowed.epoch !== this.epoch || this.topic === null) return;
    const now = this.host.now();
    for (const m of borrowed.msgs) {
      if (delivered) this.finish(m, m.body.length);
      else this.requeue(m, now);
    }
    this.writing = true;
    this.settle();
  }

  /** nsqd's channel empty: drops every message, in flight and deferred included. */
  empty(): boolean {
    if (this.topic === null) return false;
    this.store.clear();
    this.bits.clear();
    this.cancelFlush();
    this.stored = 0;
    this.storedBytes = 0;
    this.epoch++;
    this.unpacked = null;
    this.inFlight.clear();
    for (const c of this.consumers) c.inFlight = 0;
    this.window.reset(true, false);
    this.nextDue = Infinity;
    this.host.cancelTimeouts();
    return true;
  }

  setPaused(paused: boolean): boolean {
    if (this.topic === null) return false;
    this.paused = paused;
    this.store.setMeta("paused", paused ? 1 : 0);
    this.settle();
    return true;
  }

  /** nsqd's e2e_processing_latency, and (recording) the histogram the topic merges it from. */
  private latencyStats(): Pick<ChannelStats, "e2e_processing_latency" | "e2e_histogram"> {
    if (!this.latency) return { e2e_processing_latency: { count: 0, percentiles: null } };
    const h = this.latency.histogram(this.host.now());
    return { e2e_processing_latency: latencyOf(h, this.latencyOptions.percentiles), e2e_histogram: h };
  }

  /** The topic's counts as of its latest push here (see push()). */
  topicCounts(): { count: number; bytes: number } {
    return { count: this.topicMessageCount, bytes: this.topicMessageBytes };
  }

  stats(includeClients: boolean): ChannelStats | null {
    if (this.channel === null) return null;
    this.flushAcks();
    const deferred = this.store.deferredCount(this.host.now());
    const depth = Math.max(0, this.stored - this.inFlight.size - deferred);
    return {
      channel_name: this.channel,
      depth,
      backend_depth: Math.max(0, depth - this.window.size),
      in_flight_count: this.inFlight.size,
      deferred_count: deferred,
      message_count: this.messageCount,
      requeue_count: this.requeueCount,
      timeout_count: this.timeoutCount,
      client_count: this.consumers.size,
      clients: includeClients ? [...this.consumers].map(clientStats) : null,
      paused: this.paused,
      ...this.latencyStats(),
      dead_count: this.deadCount,
      finish_count: this.saved.finishCount,
      delivery_count: this.saved.deliveryCount,
      expired_count: this.expiredCount,
      dropped_count: this.droppedCount,
      held_bytes: this.storedBytes,
      config: showChannelSettings(shardOf(this.topic!).topic, this.settings),
    };
  }
}
