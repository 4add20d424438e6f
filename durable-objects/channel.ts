// ChannelObject: one per topic+channel. Its SQLite tables are the queue; it holds the channel's
// consumers (WebSockets from the Worker's V2 sessions, hibernatable), their RDY counts and the
// messages in flight to them.
//
// Storage (src/segment.ts): the topic's pushes arrive as segments of up to ~1,000 messages, and a
// segment is stored as it came, one row, with a bitmap of its messages that are done (FINished,
// moved or dropped) in `acks`. The row goes when all are done. A FIN chunk writes one bitmap per
// segment it touches, so the cost per delivered message is a fraction of a statement.
// Delivery does not write: the in-flight set is memory, rebuilt as "everything stored is ready"
// after a restart, so a message is either FINished or delivered again.
//
//   segments          fresh messages, read in id order from `cursor` into a bounded window
//   messages (rows)   deferred and requeued messages, one row each, ready once due <= now
//                     (DPUB, REQ, timeout, disconnect); due = 0 while in flight
import { DurableObject } from "cloudflare:workers";
import { config, type Config, type Env } from "../src/config";
import { hexId, type MessageBatch } from "../src/message";
import { packSegments, SEGMENT_DEFERRED, segmentHeader, unpackSegment, type Segment } from "../src/segment";
import { blob } from "../src/sql";
import { errorFrame, messageFrameSize, sendChunked, writeMessageFrame } from "../src/protocol/frames";
import { clientInfoOf, decodeLink, idText, idValue, linkSeq, type ClientInfo } from "../src/protocol/link";
import { isEphemeral } from "../src/protocol/names";
import { topicStub } from "../src/stubs";
import type { ChannelStats, ClientStats } from "../src/stats";

/** Survives hibernation with the socket. */
interface Attachment {
  info: ClientInfo;
  rdy: number;
  closing: boolean;
}

interface Consumer extends Attachment {
  ws: WebSocket;
  /** The next link message to run (null after a wake: take the first as the start). */
  nextSeq: number | null;
  /** Link messages that arrived ahead of a gap, by sequence number. */
  early: Map<number, Uint8Array>;
  /** Its place in the rotation of pump(), increasing in the order consumers joined. */
  turn: number;
  inFlight: number;
  messageCount: number;
  finishCount: number;
  requeueCount: number;
}

/** A stored segment whose messages are in memory (window or in flight): which ones are done. */
interface SegmentState {
  id: number;
  count: number;
  bits: Uint8Array;
  done: number;
  /** An `acks` row exists for it. */
  acked: boolean;
}

/** Where a message is stored: its segment and index, or (null) its own row in `messages`. */
interface Place {
  seg: SegmentState | null;
  index: number;
}

interface Ready extends Place {
  id: number;
  /** The id as it goes on the wire, computed once. */
  hex: string;
  ts: number;
  attempts: number;
  body: Uint8Array;
}

interface InFlight extends Place {
  id: number;
  consumer: Consumer;
  attempts: number;
  deliveredAt: number;
  deadline: number;
}

/** Bounds on the in-memory window of ready messages; the backlog stays in SQLite. */
const WINDOW_MAX_MESSAGES = 5000;
const WINDOW_MAX_BYTES = 16 * 1024 * 1024;
const READ_BATCH = 2500;
/** Done bits wait at most this long to be written, or until this many segments have some. */
const ACK_DELAY_MS = 10;
const ACK_MAX_SEGMENTS = 64;
/** Segments read per refill query, at most. */
const REFILL_SEGMENTS = 16;
/** Bound parameters per statement (Durable Object SQL allows 100). */
const SQL_PARAMS = 100;
/** Rows per INSERT: four parameters each. */
const ROWS_PER_INSERT = SQL_PARAMS / 4;

const insertStatements: string[] = [];
/** `INSERT ... VALUES (...), (...) RETURNING id` for k rows, built once per k. */
function insertStatement(k: number): string {
  return (insertStatements[k] ??=
    `INSERT OR IGNORE INTO messages (id, ts, attempts, due, body) VALUES ` +
    Array.from({ length: k }, () => "(?, ?, 0, ?, ?)").join(", ") +
    ` RETURNING id`);
}

/** What a push changes in memory, applied once its transaction has committed. */
interface StorePlan {
  added: number;
  lastId: number;
  /** Segments stored, in order: they join the window if it has caught up and has room. */
  segments: { id: number; buf: Uint8Array }[];
  nextDue: number;
}

/** Link messages held back waiting for a gap to fill, at most. */
const MAX_EARLY = 1024;

const STATE_SUBSCRIBED = 3;
const STATE_CLOSING = 4;

export class ChannelObject extends DurableObject<Env> {
  private sql: SqlStorage;
  private cfg: Config;
  private topic: string | null = null;
  private channel: string | null = null;
  private generation = 0;
  private paused = false;

  /** In turn order: a consumer joins at the end. */
  private consumers = new Map<WebSocket, Consumer>();
  /** The last turn number handed out, and the turn of the consumer that took the last left-over message. */
  private turns = 0;
  private lastTurn = 0;
  private inFlight = new Map<number, InFlight>();
  private window: Ready[] = [];
  private windowHead = 0;
  private windowBytes = 0;
  /** Every segment with id <= cursor has been read into the window. */
  private cursor = 0;
  /** No segment beyond the cursor is stored: new pushes may go straight into the window. */
  private caughtUp = false;
  /** The highest message id stored in a segment: a push above it cannot hold a duplicate. */
  private lastId = 0;
  /** Segments with done messages not yet written to `acks`. */
  private dirty = new Set<SegmentState>();
  /** Writes them soon (FINs alone), unless an event with writes of its own does first. */
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  /** This event wrote (a push, a move to a row): its done bits go in the same commit. */
  private writing = false;
  /** The segment last unpacked to move a message out of it, for the rest of this event. */
  private unpacked: { id: number; seg: Segment } | null = null;
  /** Earliest `due` among stored deferred/requeued rows (Infinity: none). */
  private nextDue = Infinity;
  private stored = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;
  /** The alarm this object has set (Infinity: none that it knows of). */
  private alarmAt = Infinity;

  // What /stats counts, kept in `meta` and written with the messages they count: in a push's
  // transaction, or in the event that requeues (settle()). With them, the topic's own counts as
  // of its latest push here: the topic stores no message of a fan-out, so it reads them back
  // after a restart (topicCounts()).
  private messageCount = 0;
  private requeueCount = 0;
  private timeoutCount = 0;
  private topicMessageCount = 0;
  private topicMessageBytes = 0;
  /** A requeue or timeout counted in this event; settle() writes the counts. */
  private countsChanged = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.cfg = config(env);
    this.load();
    // Consumers that stayed connected while this object hibernated.
    for (const ws of ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as Attachment | null;
      if (a) this.consumers.set(ws, { ...a, ...fresh(ws, ++this.turns), nextSeq: null });
    }
  }

  private load() {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`);
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL, body BLOB NOT NULL)`,
    );
    // Rows are only deferred, requeued or in flight (due = 0): all of them indexed by due.
    this.sql.exec(`DROP INDEX IF EXISTS messages_due`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS messages_by_due ON messages (due)`);
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY, last INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL)`,
    );
    this.sql.exec(`CREATE TABLE IF NOT EXISTS acks (seg INTEGER PRIMARY KEY, done INTEGER NOT NULL, bits BLOB NOT NULL)`);
    // Rows that were in flight when the object stopped are ready again (and so are the fresh rows
    // of the one-row-per-message layout that segments replaced).
    this.sql.exec(`UPDATE messages SET due = ? WHERE due = 0`, Date.now());
    const meta = new Map<string, SqlStorageValue>();
    for (const row of this.sql.exec<{ key: string; value: SqlStorageValue }>(`SELECT key, value FROM meta`)) meta.set(row.key, row.value);
    this.topic = (meta.get("topic") as string | undefined) ?? null;
    this.channel = (meta.get("channel") as string | undefined) ?? null;
    this.generation = (meta.get("generation") as number | undefined) ?? 0;
    this.paused = meta.get("paused") === 1;
    const counter = (key: string) => (meta.get(key) as number | undefined) ?? 0;
    this.messageCount = counter("message_count");
    this.requeueCount = counter("requeue_count");
    this.timeoutCount = counter("timeout_count");
    this.topicMessageCount = counter("topic_message_count");
    this.topicMessageBytes = counter("topic_message_bytes");
    this.countsChanged = false;
    const count = (q: string) => this.sql.exec<{ n: number | null }>(q).one().n ?? 0;
    const segmented = count(`SELECT SUM(count) AS n FROM segments`) - count(`SELECT SUM(done) AS n FROM acks`);
    this.stored = segmented + count(`SELECT COUNT(*) AS n FROM messages`);
    // Above every id held here, in a segment or (moved out of a deleted segment) in a row.
    this.lastId = Math.max(count(`SELECT MAX(last) AS n FROM segments`), count(`SELECT MAX(id) AS n FROM messages`));
    this.refreshNextDue();
    this.window = [];
    this.windowHead = 0;
    this.windowBytes = 0;
    this.cursor = 0;
    this.caughtUp = segmented === 0;
    this.inFlight.clear();
    this.dirty.clear();
  }

  private setMeta(key: string, value: SqlStorageValue) {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
  }

  /** One statement for every counter, in the transaction of the writes they count. */
  private saveCounts(messageCount: number, topicCount: number, topicBytes: number) {
    this.sql.exec(
      `INSERT OR REPLACE INTO meta (key, value) VALUES ('message_count', ?), ('requeue_count', ?), ('timeout_count', ?), ('topic_message_count', ?), ('topic_message_bytes', ?)`,
      messageCount, this.requeueCount, this.timeoutCount, topicCount, topicBytes,
    );
    this.countsChanged = false;
  }

  // ---- lifecycle (called by the topic) ---------------------------------------------------

  init(topic: string, channel: string, generation: number) {
    if (this.topic === topic && this.channel === channel && this.generation === generation) return;
    this.topic = topic;
    this.channel = channel;
    this.generation = generation;
    this.setMeta("topic", topic);
    this.setMeta("channel", channel);
    this.setMeta("generation", generation);
  }

  exists(): boolean {
    return this.topic !== null;
  }

  /** Deletes every message and closes every consumer (nsqd's channel delete). */
  async destroy() {
    for (const c of this.consumers.values()) c.ws.close(1000, "channel deleted");
    this.consumers.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = this.alarmAt = Infinity;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.topic = this.channel = null;
    this.paused = false;
    this.load();
  }

  /** Deletes an ephemeral channel that has no consumer; false if one has come back. */
  async destroyIfIdle(generation: number): Promise<boolean> {
    if (this.consumers.size > 0 || generation !== this.generation) return false;
    await this.destroy();
    return true;
  }

  // ---- messages in -----------------------------------------------------------------------

  /**
   * Stores segments from the topic (idempotent by message id) and delivers what consumers can
   * take. `topic` is the topic's message count and bytes so far, kept here with the messages.
   */
  push(segments: Uint8Array[], topic?: { count: number; bytes: number }) {
    // The topic adds a channel to its fan-out only after init(): a push here means it was
    // deleted meanwhile, and the topic drops the copy.
    if (this.topic === null) throw new Error("CHANNEL_NOT_FOUND");
    const now = Date.now();
    // Memory follows storage only once the transaction has committed: a push that fails midway
    // leaves neither.
    const plan: StorePlan = { added: 0, lastId: this.lastId, segments: [], nextDue: Infinity };
    // Pushes from the topic's fan-out, drain and retries may commit out of order: the most it has told.
    const topicCount = Math.max(this.topicMessageCount, topic?.count ?? 0);
    const topicBytes = Math.max(this.topicMessageBytes, topic?.bytes ?? 0);
    this.ctx.storage.transactionSync(() => {
      for (const buf of segments) this.store(buf, now, plan);
      this.saveCounts(this.messageCount + plan.added, topicCount, topicBytes);
    });
    this.topicMessageCount = topicCount;
    this.topicMessageBytes = topicBytes;
    this.lastId = plan.lastId;
    // Without consumers nothing is read into memory: a channel nobody reads holds no window.
    for (const { id, buf } of plan.segments) {
      if (this.caughtUp && this.consumers.size > 0 && !this.windowFull()) this.addToWindow(id, buf, null);
      else this.caughtUp = false;
    }
    if (plan.nextDue < this.nextDue) this.nextDue = plan.nextDue;
    this.stored += plan.added;
    this.messageCount += plan.added;
    this.writing = true;
    this.settle();
  }

  /** Stores one segment, and notes in `plan` what memory needs once the transaction commits. */
  private store(buf: Uint8Array, now: number, plan: StorePlan) {
    const { count, flags, first, last } = segmentHeader(buf);
    if (flags & SEGMENT_DEFERRED) {
      const seg = unpackSegment(buf);
      const due = seg.ids.map((_, i) => Math.max(seg.ts[i] + seg.defers[i], now));
      this.insertRows(seg, due, plan);
      return;
    }
    if (first > plan.lastId) {
      this.sql.exec(`INSERT INTO segments (id, last, count, data) VALUES (?, ?, ?, ?)`, first, last, count, blob(buf));
      plan.lastId = last;
      plan.segments.push({ id: first, buf });
      plan.added += count;
      return;
    }
    // A retry (the topic's outbox) may repeat messages stored here: a message whose id lies in
    // a stored segment's range is here. The rest is stored anew, as a segment where it is above
    // every stored id, else as rows that are ready now (a row already here is kept, not doubled).
    // Segments do not overlap: the one holding `first` is the last to start at or before it.
    const ranges = [
      ...this.sql
        .exec(
          `SELECT id, last FROM segments WHERE id >= (SELECT COALESCE(MAX(id), 0) FROM segments WHERE id <= ?) AND id <= ?`,
          first,
          last,
        )
        .raw<[number, number]>(),
    ];
    const seg = unpackSegment(buf);
    const above: MessageBatch = { ids: [], ts: [], bodies: [] };
    const below: MessageBatch = { ids: [], ts: [], bodies: [] };
    for (let i = 0; i < count; i++) {
      const id = seg.ids[i];
      if (ranges.some(([a, b]) => a <= id && id <= b)) continue;
      const to = id > plan.lastId ? above : below;
      to.ids.push(id);
      to.ts.push(seg.ts[i]);
      to.bodies.push(seg.bodies[i]);
    }
    this.insertRows(below, below.ids.map(() => now), plan);
    for (const s of packSegments(above)) this.store(s, now, plan);
  }

  /** Stores messages as rows of their own, ready at `due`. */
  private insertRows(batch: Pick<MessageBatch, "ids" | "ts" | "bodies">, due: number[], plan: StorePlan) {
    // Multi-row inserts: the cost is per statement more than per row. RETURNING tells which rows
    // are new: a retried copy that is already here is not a new message.
    for (let i = 0; i < batch.ids.length; i += ROWS_PER_INSERT) {
      const k = Math.min(ROWS_PER_INSERT, batch.ids.length - i);
      const params: SqlStorageValue[] = [];
      for (let j = i; j < i + k; j++) params.push(batch.ids[j], batch.ts[j], due[j], blob(batch.bodies[j]));
      plan.added += this.sql.exec(insertStatement(k), ...params).toArray().length;
      for (let j = i; j < i + k; j++) if (due[j] < plan.nextDue) plan.nextDue = due[j];
    }
  }

  private windowFull(): boolean {
    return this.window.length - this.windowHead >= WINDOW_MAX_MESSAGES || this.windowBytes >= WINDOW_MAX_BYTES;
  }

  /** Puts a segment's messages that are not done into the window. */
  private addToWindow(id: number, buf: Uint8Array, acks: { done: number; bits: Uint8Array } | null) {
    const seg = unpackSegment(buf);
    const state: SegmentState = {
      id,
      count: seg.count,
      bits: acks?.bits ?? new Uint8Array(Math.ceil(seg.count / 8)),
      done: acks?.done ?? 0,
      acked: acks !== null,
    };
    for (let i = 0; i < seg.count; i++) {
      if (state.bits[i >> 3] & (1 << (i & 7))) continue;
      const body = seg.bodies[i];
      this.window.push({ id: seg.ids[i], hex: hexId(seg.ids[i]), ts: seg.ts[i], attempts: 0, body, seg: state, index: i });
      this.windowBytes += body.length;
    }
    this.cursor = id;
  }

  // ---- consumers -------------------------------------------------------------------------

  /** A V2 session subscribes: the Worker opens a WebSocket here that carries its channel commands. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    if (this.topic === null) return new Response("CHANNEL_NOT_FOUND", { status: 404 });
    let info: ClientInfo;
    try {
      info = clientInfoOf(request);
    } catch (e) {
      return new Response(e instanceof Error ? e.message : String(e), { status: 400 });
    }
    const pair = new WebSocketPair();
    const ws = pair[1];
    this.ctx.acceptWebSocket(ws);
    const attachment: Attachment = { info, rdy: 0, closing: false };
    ws.serializeAttachment(attachment);
    this.consumers.set(ws, { ...attachment, ...fresh(ws, ++this.turns) });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Channel commands from a session, already validated there: RDY, FIN, REQ, TOUCH, CLS, as
   * the binary records of src/protocol/link.ts after a 4-byte sequence number.
   *
   * workerd can deliver a hibernatable socket's messages out of order; nsqd runs a client's
   * commands in order, so a message that arrives ahead of a gap waits for it.
   */
  override webSocketMessage(ws: WebSocket, data: ArrayBuffer | string) {
    const c = this.consumers.get(ws);
    if (!c || typeof data === "string" || data.byteLength < 4) return;
    const bytes = new Uint8Array(data);
    const seq = linkSeq(bytes);
    if (c.nextSeq !== null && seq > c.nextSeq && c.early.size < MAX_EARLY) {
      c.early.set(seq, bytes.subarray(4));
      return;
    }
    const finished: number[] = [];
    const errors: Uint8Array[] = [];
    this.run(c, bytes.subarray(4), finished, errors);
    c.nextSeq = Math.max(c.nextSeq ?? 0, seq + 1);
    // Then whatever was waiting for this one; past MAX_EARLY, stop waiting for a gap.
    for (const next of [...c.early.keys()].sort((a, b) => a - b)) {
      if (next !== c.nextSeq && c.early.size < MAX_EARLY) break;
      this.run(c, c.early.get(next)!, finished, errors);
      c.early.delete(next);
      c.nextSeq = next + 1;
    }
    if (finished.length) this.deleteRows(finished);
    for (const e of errors) ws.send(e);
    this.settle();
  }

  private run(c: Consumer, bytes: Uint8Array, finished: number[], errors: Uint8Array[]) {
    const now = Date.now();
    decodeLink(bytes, {
      rdy: (count) => {
        c.rdy = count;
        this.saveAttachment(c);
      },
      fin: (b, at) => {
        const m = this.takeInFlight(c, b, at, "FIN", "E_FIN_FAILED", errors);
        if (m) {
          this.finish(m, finished);
          c.finishCount++;
        }
      },
      req: (b, at, delayMs) => {
        const m = this.takeInFlight(c, b, at, "REQ", "E_REQ_FAILED", errors);
        if (m) {
          this.requeue(m, now + delayMs);
          c.requeueCount++;
          this.requeueCount++;
          this.countsChanged = true;
        }
      },
      touch: (b, at) => {
        const m = this.inFlight.get(idValue(b, at));
        if (!m || m.consumer !== c) {
          const why = m ? "client does not own message" : "ID not in flight";
          errors.push(errorFrame(`E_TOUCH_FAILED TOUCH ${idText(b, at)} failed ${why}`));
        } else {
          m.deadline = Math.min(now + c.info.msg_timeout, m.deliveredAt + this.cfg.maxMsgTimeout);
        }
      },
      cls: () => {
        c.closing = true;
        c.rdy = 0;
        this.saveAttachment(c);
      },
    });
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string) {
    this.dropConsumer(ws);
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  override webSocketError(ws: WebSocket) {
    this.dropConsumer(ws);
  }

  /** A consumer is gone: what it had in flight is ready again at once (attempts counted). */
  private dropConsumer(ws: WebSocket) {
    const c = this.consumers.get(ws);
    if (!c) return;
    this.consumers.delete(ws);
    const now = Date.now();
    for (const [id, m] of this.inFlight) {
      if (m.consumer === c) {
        this.inFlight.delete(id);
        this.requeue(m, now);
      }
    }
    this.settle();
    if (this.consumers.size === 0 && this.channel !== null && isEphemeral(this.channel)) {
      this.ctx.waitUntil(topicStub(this.env, this.topic!).channelIdle(this.channel, this.generation));
    }
  }

  private saveAttachment(c: Consumer) {
    c.ws.serializeAttachment({ info: c.info, rdy: c.rdy, closing: c.closing } satisfies Attachment);
  }

  private takeInFlight(c: Consumer, b: Uint8Array, at: number, verb: string, code: string, errors: Uint8Array[]): InFlight | null {
    const id = idValue(b, at);
    const m = this.inFlight.get(id);
    if (!m || m.consumer !== c) {
      const why = m ? "client does not own message" : "ID not in flight";
      errors.push(errorFrame(`${code} ${verb} ${idText(b, at)} failed ${why}`));
      return null;
    }
    this.inFlight.delete(id);
    c.inFlight--;
    return m;
  }

  /** A message is done: its segment's bit, or its row (deleted with the others of the event). */
  private finish(m: Place & { id: number }, rows: number[]) {
    if (m.seg) {
      this.markDone(m.seg, m.index);
      this.stored--;
    } else rows.push(m.id);
  }

  /**
   * Puts an in-flight message back in the queue, ready at `due` (now for an immediate retry). A
   * message from a segment moves to a row of its own, which carries its attempts and due time.
   */
  private requeue(m: InFlight, due: number) {
    const at = Math.max(due, 1);
    if (m.seg) {
      const seg = this.segmentData(m.seg.id);
      this.sql.exec(
        `INSERT OR REPLACE INTO messages (id, ts, attempts, due, body) VALUES (?, ?, ?, ?, ?)`,
        m.id, seg.ts[m.index], m.attempts, at, blob(seg.bodies[m.index]),
      );
      this.markDone(m.seg, m.index);
      // The row and its segment's bit commit together, or the message would be in both.
      this.writing = true;
    } else {
      this.sql.exec(`UPDATE messages SET attempts = ?, due = ? WHERE id = ?`, m.attempts, at, m.id);
    }
    if (at < this.nextDue) this.nextDue = at;
  }

  /** A stored segment, unpacked (requeues come in runs from the same segment: one read each). */
  private segmentData(id: number): Segment {
    if (this.unpacked?.id !== id) {
      const [[data]] = this.sql.exec(`SELECT data FROM segments WHERE id = ?`, id).raw<[ArrayBuffer]>();
      this.unpacked = { id, seg: unpackSegment(new Uint8Array(data)) };
    }
    return this.unpacked.seg;
  }

  private markDone(seg: SegmentState, index: number) {
    const bit = 1 << (index & 7);
    if (seg.bits[index >> 3] & bit) return;
    seg.bits[index >> 3] |= bit;
    seg.done++;
    this.dirty.add(seg);
  }

  /** Writes the changed bitmaps; a segment whose messages are all done goes. */
  private flushAcks() {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    for (const seg of this.dirty) {
      if (seg.done >= seg.count) {
        this.sql.exec(`DELETE FROM segments WHERE id = ?`, seg.id);
        if (seg.acked) this.sql.exec(`DELETE FROM acks WHERE seg = ?`, seg.id);
      } else {
        this.sql.exec(`INSERT OR REPLACE INTO acks (seg, done, bits) VALUES (?, ?, ?)`, seg.id, seg.done, blob(seg.bits));
        seg.acked = true;
      }
    }
    this.dirty.clear();
  }

  /**
   * The end of every event: deliver what can go, write what became done, arm the alarm.
   *
   * Bits set by FINs alone wait up to ACK_DELAY_MS for company: every write holds back what the
   * object sends next (the output gate) until it is durable, so a commit per burst of FINs
   * would delay the deliveries behind it. A FIN not yet written when the object crashes is
   * delivered again (at-least-once, as nsqd); /stats writes them first, so what it counts as
   * finished is durable.
   */
  private settle() {
    this.pump();
    // With the requeues' rows, in this event's commit.
    if (this.countsChanged) this.saveCounts(this.messageCount, this.topicMessageCount, this.topicMessageBytes);
    if (this.writing || this.dirty.size >= ACK_MAX_SEGMENTS) this.flushAcks();
    else if (this.dirty.size > 0 && !this.ackTimer) this.ackTimer = setTimeout(() => this.flushAcks(), ACK_DELAY_MS);
    this.writing = false;
    this.unpacked = null;
    this.armDeferred();
  }

  private deleteRows(ids: number[]) {
    for (let i = 0; i < ids.length; i += SQL_PARAMS) {
      const chunk = ids.slice(i, i + SQL_PARAMS);
      this.stored -= this.sql.exec(
        `DELETE FROM messages WHERE id IN (${chunk.map(() => "?").join(",")})`,
        ...chunk,
      ).rowsWritten;
    }
  }

  // ---- delivery --------------------------------------------------------------------------

  /**
   * Sends ready messages to consumers with spare RDY, one WebSocket message per consumer per
   * call. Synchronous: storage reads and socket sends do not yield.
   *
   * Water-filling with a rotation: every consumer with spare RDY gets min(spare, level), the
   * highest level the messages cover; the few left over (fewer than the consumers with more
   * spare than the level) go one each to those consumers in turn order, starting after the one
   * that took the last left-over message. So every message taken is sent, and the bound is:
   * while a consumer has spare RDY, no other consumer is served in two pumps before it is
   * served once (a pump serves it, or serves only consumers between the rotation cursor and it,
   * and the cursor stops before it). When every pump finds all K consumers with equal spare
   * (each finishes before the next batch), this is exact rotation: over N messages each gets
   * floor(N/K) or ceil(N/K).
   */
  private pump() {
    if (this.paused) return;
    const ready: Consumer[] = [];
    let capacity = 0;
    let least = Infinity;
    let most = 0;
    // The first consumer in turn order after the one that took the last left-over message.
    let start = -1;
    for (const c of this.consumers.values()) {
      const spare = c.closing ? 0 : c.rdy - c.inFlight;
      if (spare > 0) {
        if (start < 0 && c.turn > this.lastTurn) start = ready.length;
        ready.push(c);
        capacity += spare;
        if (spare < least) least = spare;
        if (spare > most) most = spare;
      }
    }
    if (capacity === 0) return;
    const msgs = this.take(capacity);
    if (msgs.length === 0) return;
    const n = msgs.length;
    let level = most;
    let covered = capacity;
    if (n < capacity) {
      if (least === most) {
        level = Math.floor(n / ready.length);
        covered = level * ready.length;
      } else {
        // The largest level L with sum(min(spare, L)) <= n, from the spares in ascending order.
        const spares = ready.map((c) => c.rdy - c.inFlight).sort((a, b) => a - b);
        let below = 0;
        for (let i = 0; i < spares.length; i++) {
          const left = spares.length - i;
          if (below + spares[i] * left > n) {
            level = Math.floor((n - below) / left);
            covered = below + level * left;
            break;
          }
          below += spares[i];
        }
      }
    }
    let extra = n - covered;
    if (start < 0) start = 0;
    const now = Date.now();
    let at = 0;
    const dropped: number[] = [];
    for (let k = 0; k < ready.length && at < n; k++) {
      const c = ready[(start + k) % ready.length];
      const spare = c.rdy - c.inFlight;
      let share = spare < level ? spare : level;
      if (extra > 0 && spare > level) {
        share++;
        extra--;
        this.lastTurn = c.turn;
      }
      if (share === 0) continue;
      this.send(c, msgs.slice(at, at + share), now, dropped);
      at += share;
    }
    if (dropped.length) this.deleteRows(dropped);
  }

  private send(c: Consumer, msgs: Ready[], now: number, dropped: number[]) {
    const sampled: Ready[] = [];
    for (const m of msgs) {
      // nsqd's sample_rate: a message not sampled is gone for this channel.
      if (c.info.sample_rate > 0 && Math.floor(Math.random() * 100) > c.info.sample_rate) this.finish(m, dropped);
      else sampled.push(m);
    }
    if (sampled.length === 0) return;
    let size = 0;
    for (const m of sampled) size += messageFrameSize(m.body);
    const out = new Uint8Array(size);
    let offset = 0;
    const deadline = now + c.info.msg_timeout;
    const entries: InFlight[] = [];
    for (const m of sampled) {
      const attempts = m.attempts + 1;
      offset = writeMessageFrame(out, offset, m.ts, attempts, m.hex, m.body);
      entries.push({ id: m.id, consumer: c, attempts, deliveredAt: now, deadline, seg: m.seg, index: m.index });
    }
    try {
      sendChunked(c.ws, out);
    } catch {
      // The session is gone; its close event follows. The messages are ready again, unattempted.
      for (const m of entries) this.requeue({ ...m, attempts: m.attempts - 1 }, now);
      return;
    }
    for (const m of entries) this.inFlight.set(m.id, m);
    this.armAt(deadline);
    c.inFlight += sampled.length;
    c.messageCount += sampled.length;
  }

  /** Up to `n` ready messages: requeued and due ones first, then fresh ones in id order. */
  private take(n: number): Ready[] {
    const out: Ready[] = [];
    const now = Date.now();
    if (this.nextDue <= now) {
      const rows = this.read(`SELECT id, ts, attempts, body FROM messages WHERE due > 0 AND due <= ? ORDER BY due LIMIT ?`, now, n);
      const ids: number[] = [];
      for (const r of rows) {
        ids.push(r.id);
        out.push(r);
      }
      for (let i = 0; i < ids.length; i += SQL_PARAMS) {
        const chunk = ids.slice(i, i + SQL_PARAMS);
        this.sql.exec(`UPDATE messages SET due = 0 WHERE id IN (${chunk.map(() => "?").join(",")})`, ...chunk);
      }
      if (rows.length < n) this.refreshNextDue();
    }
    while (out.length < n) {
      if (this.windowHead >= this.window.length && !this.refill(n - out.length)) break;
      const m = this.window[this.windowHead++];
      this.windowBytes -= m.body.length;
      out.push(m);
    }
    if (this.windowHead >= this.window.length) {
      this.window = [];
      this.windowHead = 0;
    }
    return out;
  }

  /** Reads the next segments after the cursor into the window; false when there are none. */
  private refill(want: number): boolean {
    if (this.caughtUp) return false;
    const target = Math.min(Math.max(want, 256), READ_BATCH);
    this.window = [];
    this.windowHead = 0;
    this.windowBytes = 0;
    const rows = this.sql
      .exec(
        `SELECT s.id, s.data, a.done, a.bits FROM segments s LEFT JOIN acks a ON a.seg = s.id WHERE s.id > ? ORDER BY s.id LIMIT ?`,
        this.cursor,
        REFILL_SEGMENTS,
      )
      .raw<[number, ArrayBuffer, number | null, ArrayBuffer | null]>();
    let read = 0;
    for (const [id, data, done, bits] of rows) {
      if (this.window.length >= target || this.windowBytes >= WINDOW_MAX_BYTES) break;
      read++;
      this.addToWindow(id, new Uint8Array(data), bits ? { done: done!, bits: new Uint8Array(bits) } : null);
    }
    if (read < REFILL_SEGMENTS && this.window.length < target && this.windowBytes < WINDOW_MAX_BYTES) this.caughtUp = true;
    return this.window.length > 0 || this.refill(want);
  }

  /** Rows as Ready messages (raw rows: no object per row from SQLite). */
  private read(query: string, ...bindings: SqlStorageValue[]): Ready[] {
    const out: Ready[] = [];
    for (const [id, ts, attempts, body] of this.sql.exec(query, ...bindings).raw<[number, number, number, ArrayBuffer]>()) {
      out.push({ id, hex: hexId(id), ts, attempts, body: new Uint8Array(body), seg: null, index: 0 });
    }
    return out;
  }

  private refreshNextDue() {
    const row = this.sql.exec<{ due: number | null }>(`SELECT MIN(due) AS due FROM messages WHERE due > 0`).one();
    this.nextDue = row.due ?? Infinity;
  }

  // ---- timers ----------------------------------------------------------------------------

  /**
   * In-flight deadlines live in memory like the in-flight set, so a timer (not the alarm) serves
   * them; a pending timer also keeps the object from hibernating while messages are in flight.
   */
  private armInFlight() {
    let earliest = Infinity;
    for (const m of this.inFlight.values()) if (m.deadline < earliest) earliest = m.deadline;
    if (earliest === Infinity) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    this.armAt(earliest);
  }

  /** O(1) per delivery: a timer due earlier already covers `at` (it re-arms when it fires). */
  private armAt(at: number) {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - Date.now()));
  }

  private onTimer() {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    for (const [id, m] of this.inFlight) {
      if (m.deadline <= now) {
        this.inFlight.delete(id);
        m.consumer.inFlight--;
        this.timeoutCount++;
        this.countsChanged = true;
        this.requeue(m, now);
      }
    }
    this.settle();
    this.armInFlight();
  }

  /** Deferred and requeued rows are in storage, so a durable alarm wakes the object for them. */
  private armDeferred() {
    // Ready now but no spare RDY: the next RDY, FIN or REQ pumps again. No consumer: a SUB does.
    if (this.consumers.size === 0 || this.nextDue <= Date.now() || this.nextDue >= this.alarmAt) return;
    this.alarmAt = this.nextDue;
    void this.ctx.storage.setAlarm(this.nextDue);
  }

  override async alarm() {
    this.alarmAt = Infinity;
    this.refreshNextDue();
    this.settle();
  }

  // ---- administration --------------------------------------------------------------------

  /** nsqd's channel empty: drops every message, in flight and deferred included. */
  empty(): boolean {
    if (this.topic === null) return false;
    this.sql.exec(`DELETE FROM messages`);
    this.sql.exec(`DELETE FROM segments`);
    this.sql.exec(`DELETE FROM acks`);
    this.dirty.clear();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.stored = 0;
    this.inFlight.clear();
    for (const c of this.consumers.values()) c.inFlight = 0;
    this.window = [];
    this.windowHead = this.windowBytes = 0;
    this.caughtUp = true;
    this.nextDue = Infinity;
    this.armInFlight();
    return true;
  }

  setPaused(paused: boolean): boolean {
    if (this.topic === null) return false;
    this.paused = paused;
    this.setMeta("paused", paused ? 1 : 0);
    this.settle();
    return true;
  }

  /** The topic's counts as of its latest push here (see push()). */
  topicCounts(): { count: number; bytes: number } {
    return { count: this.topicMessageCount, bytes: this.topicMessageBytes };
  }

  stats(includeClients = true): ChannelStats | null {
    if (this.channel === null) return null;
    this.flushAcks();
    const now = Date.now();
    const deferred = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE due > ?`, now).one().n;
    const depth = Math.max(0, this.stored - this.inFlight.size - deferred);
    const windowed = this.window.length - this.windowHead;
    return {
      channel_name: this.channel,
      depth,
      backend_depth: Math.max(0, depth - windowed),
      in_flight_count: this.inFlight.size,
      deferred_count: deferred,
      message_count: this.messageCount,
      requeue_count: this.requeueCount,
      timeout_count: this.timeoutCount,
      client_count: this.consumers.size,
      clients: includeClients ? [...this.consumers.values()].map(clientStats) : null,
      paused: this.paused,
      e2e_processing_latency: { count: 0, percentiles: null },
    };
  }
}

function fresh(ws: WebSocket, turn: number) {
  return { ws, nextSeq: 0 as number | null, early: new Map<number, Uint8Array>(), turn, inFlight: 0, messageCount: 0, finishCount: 0, requeueCount: 0 };
}

function clientStats(c: Consumer): ClientStats {
  return {
    client_id: c.info.client_id,
    hostname: c.info.hostname,
    version: "V2",
    remote_address: c.info.remote_address,
    state: c.closing ? STATE_CLOSING : STATE_SUBSCRIBED,
    ready_count: c.rdy,
    in_flight_count: c.inFlight,
    message_count: c.messageCount,
    finish_count: c.finishCount,
    requeue_count: c.requeueCount,
    connect_ts: c.info.connect_ts,
    sample_rate: c.info.sample_rate,
    deflate: c.info.deflate,
    snappy: c.info.snappy,
    user_agent: c.info.user_agent,
    topology_zone: "",
    topology_region: "",
    tls: c.info.tls,
    tls_cipher_suite: "",
    tls_version: "",
    tls_negotiated_protocol: "",
    tls_negotiated_protocol_is_mutual: false,
  };
}
