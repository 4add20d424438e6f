// The channel's storage: the schema and every SQL statement, behind ChannelStore. Nothing else
// in the channel touches SQL.
//
//   meta      key/value: topic, channel, generation, paused, the /stats counters
//   segments  fresh messages as the topic packed them (src/segment.ts), one row per segment
//   acks      a segment's bitmap of done messages (done-bits.ts); the segment goes when all are
//   messages  deferred and requeued messages, one row each, ready once due <= now (DPUB, REQ,
//             timeout, disconnect); due = 0 while in flight; meta: a dead letter's origin
//   dead      messages on their way to the dead-letter topic (dead-letters.ts), until it has them
//   retained  with a retention: FINished rows, kept for /channel/seek (FINished messages of
//             segments stay in their segment, which is kept until its time is past retention)
import type { MessageBatch } from "../message";
import { channelSettings, type ChannelSettings } from "../settings";
import { blob, readMeta, setMeta } from "../sql";
import type { BitsWriter } from "./done-bits";
import type { SegmentSource } from "./window";

/** What /stats counts, kept with the messages they count. */
export interface ChannelCounts {
  messageCount: number;
  requeueCount: number;
  timeoutCount: number;
  /** Moved to the dead-letter topic. */
  deadCount: number;
  /** Past their TTL: dropped, or dead-lettered (counted in both then). */
  expiredCount: number;
  /** Pushed out by newer messages (overflow drop_oldest). */
  droppedCount: number;
  /** FINished, and delivered (attempts made): /metrics' rates. */
  finishCount: number;
  deliveryCount: number;
  /** The topic's own counts as of its latest push here. */
  topicMessageCount: number;
  topicMessageBytes: number;
}

export interface StoredChannel extends ChannelCounts {
  topic: string | null;
  channel: string | null;
  generation: number;
  paused: boolean;
  settings: ChannelSettings;
  /** The topic's msg_ttl (ms; 0: none), as it last told. */
  topicTtl: number;
  /** Messages stored and not done. */
  stored: number;
  /** Their bodies' bytes (after a restart, a segment's share by its count of messages not done). */
  storedBytes: number;
  /** Dead letters not yet handed to the dead-letter topic. */
  dead: number;
  /** Of them, in segments. */
  segmented: number;
  /** The highest message id held, in a segment or a row. */
  lastId: number;
}

export type MetaKey = "topic" | "channel" | "generation" | "paused" | "settings" | "topic_ttl";

/** A stored row, raw: id, ts, attempts, body, meta. */
export type Row = [id: number, ts: number, attempts: number, body: ArrayBuffer, meta: string | null];

/** A row of `dead`: the message, why it died and when. */
export type DeadRow = [id: number, ts: number, attempts: number, body: ArrayBuffer, meta: string | null, reason: string, at: number];

export interface ChannelStore extends BitsWriter, SegmentSource {
  /** Creates the schema; rows that were in flight when the object stopped are ready at `now`. */
  load(now: number): StoredChannel;
  transaction<T>(fn: () => T): T;
  setMeta(key: MetaKey, value: string | number): void;
  /** Every counter in one statement, in the transaction of the writes they count. */
  saveCounts(counts: ChannelCounts): void;
  insertSegment(first: number, last: number, count: number, buf: Uint8Array, ts: number): void;
  /** [first, last] of the stored segments that overlap ids first..last. */
  segmentRanges(first: number, last: number): [number, number][];
  /** Rows ready at due[i]; a row already stored is kept. Returns how many are new. */
  insertRows(batch: Pick<MessageBatch, "ids" | "ts" | "bodies" | "metas">, due: number[]): number;
  /** A message moved out of its segment (requeued), or a row's new attempts and due time. */
  saveRow(id: number, ts: number, attempts: number, due: number, body: Uint8Array, meta: string | null): void;
  /** A row's message (null: none). */
  row(id: number): Row | null;
  updateRow(id: number, attempts: number, due: number): void;
  /** Returns how many rows went; `retain`: into `retained`. */
  deleteRows(ids: number[], retain?: boolean): number;
  /** Forgets what was retained before `before`: rows, and segments whose every message is done. */
  pruneRetained(before: number): void;
  /** Every stored segment from `cursor` on, done ones included (a seek). */
  allSegments(cursor: number, limit: number): [id: number, data: ArrayBuffer, done: number | null, bits: ArrayBuffer | null][];
  /** Ids in first..last that are rows (live, retained or dead): their segment's copy stays done. */
  rowIdsBetween(first: number, last: number): Set<number>;
  /**
   * A seek's rows: those published before `t` leave (into `retained` if `retain`); retained ones
   * published at or after `floor` come back ready at `now`, and so does what was in flight.
   */
  seekRows(t: number, floor: number, now: number, retain: boolean): void;
  /** Messages stored and not done, and their bytes (as load() counts them). */
  held(): { stored: number; storedBytes: number };
  segmentData(id: number): Uint8Array;
  /** Up to `limit` rows due by `now`, earliest first; claimRows() marks them in flight. */
  dueRows(now: number, limit: number): Iterable<Row>;
  claimRows(ids: number[]): void;
  /** The earliest due time of a stored row (Infinity: none). */
  minDue(): number;
  deferredCount(now: number): number;
  /** Rows in the order they come ready (deferred ones last), in-flight rows left out: for peek. */
  queuedRows(limit: number): Iterable<[...Row, number]>;
  /** A dead letter, stored until the dead-letter topic has it. */
  bury(id: number, ts: number, attempts: number, body: Uint8Array, meta: string | null, reason: string, at: number): void;
  deadRows(limit: number): DeadRow[];
  deleteDead(ids: number[]): void;
  clear(): void;
}

/** Bound parameters per statement (Durable Object SQL allows 100). */
const SQL_PARAMS = 100;
/** Rows per INSERT: five parameters each. */
const ROWS_PER_INSERT = SQL_PARAMS / 5;

const insertStatements: string[] = [];
/** `INSERT ... VALUES (...), (...) RETURNING id` for k rows, built once per k. */
function insertStatement(k: number): string {
  return (insertStatements[k] ??=
    `INSERT OR IGNORE INTO messages (id, ts, attempts, due, body, meta) VALUES ` +
    Array.from({ length: k }, () => "(?, ?, 0, ?, ?, ?)").join(", ") +
    ` RETURNING id`);
}

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(",");

export class SqlChannelStore implements ChannelStore {
  private sql: SqlStorage;

  constructor(private storage: Pick<DurableObjectStorage, "sql" | "transactionSync">) {
    this.sql = storage.sql;
  }

  load(now: number): StoredChannel {
    const sql = this.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL, body BLOB NOT NULL, meta TEXT)`);
    // (A channel stored before dead letters existed has no meta column.)
    addColumnIfMissing(sql, "messages", "meta", "TEXT");
    sql.exec(
      `CREATE TABLE IF NOT EXISTS dead (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, attempts INTEGER NOT NULL, body BLOB NOT NULL, meta TEXT, reason TEXT NOT NULL, at INTEGER NOT NULL)`,
    );
    // Rows are only deferred, requeued or in flight (due = 0): all of them indexed by due.
    sql.exec(`CREATE INDEX IF NOT EXISTS messages_by_due ON messages (due)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY, last INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL, ts INTEGER NOT NULL DEFAULT 0)`);
    addColumnIfMissing(sql, "segments", "ts", "INTEGER NOT NULL DEFAULT 0");
    sql.exec(`CREATE TABLE IF NOT EXISTS retained (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, attempts INTEGER NOT NULL, body BLOB NOT NULL, meta TEXT)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS acks (seg INTEGER PRIMARY KEY, done INTEGER NOT NULL, bits BLOB NOT NULL)`);
    // In flight is memory: what was in flight when the object stopped is ready again.
    sql.exec(`UPDATE messages SET due = ? WHERE due = 0`, now);
    const meta = readMeta(sql);
    const counter = (key: string) => (meta.get(key) as number | undefined) ?? 0;
    const count = (q: string) => sql.exec<{ n: number | null }>(q).one().n ?? 0;
    const { stored, storedBytes } = this.held();
    return {
      topic: (meta.get("topic") as string | undefined) ?? null,
      channel: (meta.get("channel") as string | undefined) ?? null,
      generation: counter("generation"),
      paused: meta.get("paused") === 1,
      settings: channelSettings(meta.get("settings")),
      topicTtl: counter("topic_ttl"),
      messageCount: counter("message_count"),
      requeueCount: counter("requeue_count"),
      timeoutCount: counter("timeout_count"),
      deadCount: counter("dead_count"),
      expiredCount: counter("expired_count"),
      droppedCount: counter("dropped_count"),
      finishCount: counter("finish_count"),
      deliveryCount: counter("delivery_count"),
      topicMessageCount: counter("topic_message_count"),
      topicMessageBytes: counter("topic_message_bytes"),
      segmented: stored - count(`SELECT COUNT(*) AS n FROM messages`),
      stored,
      storedBytes,
      dead: count(`SELECT COUNT(*) AS n FROM dead`),
      // Above every id held here, in a segment or (moved out of a deleted segment) in a row.
      lastId: Math.max(count(`SELECT MAX(last) AS n FROM segments`), count(`SELECT MAX(id) AS n FROM messages`)),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  setMeta(key: MetaKey, value: string | number) {
    setMeta(this.sql, key, value);
  }

  saveCounts(c: ChannelCounts) {
    this.sql.exec(
      `INSERT OR REPLACE INTO meta (key, value) VALUES ('message_count', ?), ('requeue_count', ?), ('timeout_count', ?), ('dead_count', ?), ('expired_count', ?), ('dropped_count', ?), ('finish_count', ?), ('delivery_count', ?), ('topic_message_count', ?), ('topic_message_bytes', ?)`,
      c.messageCount, c.requeueCount, c.timeoutCount, c.deadCount, c.expiredCount, c.droppedCount, c.finishCount, c.deliveryCount, c.topicMessageCount, c.topicMessageBytes,
    );
  }

  held() {
    const count = (q: string) => this.sql.exec<{ n: number | null }>(q).one().n ?? 0;
    const segmented = count(`SELECT SUM(count) AS n FROM segments`) - count(`SELECT SUM(done) AS n FROM acks`);
    const segmentBytes = count(
      `SELECT SUM(length(s.data) * (s.count - COALESCE(a.done, 0)) / s.count) AS n FROM segments s LEFT JOIN acks a ON a.seg = s.id`,
    );
    return {
      stored: segmented + count(`SELECT COUNT(*) AS n FROM messages`),
      storedBytes: segmentBytes + count(`SELECT SUM(length(body)) AS n FROM messages`),
    };
  }

  insertSegment(first: number, last: number, count: number, buf: Uint8Array, ts: number) {
    this.sql.exec(`INSERT INTO segments (id, last, count, data, ts) VALUES (?, ?, ?, ?, ?)`, first, last, count, blob(buf), ts);
  }

  segmentRanges(first: number, last: number): [number, number][] {
    // Segments do not overlap: the one holding `first` is the last to start at or before it.
    return [
      ...this.sql
        .exec(`SELECT id, last FROM segments WHERE id >= (SELECT COALESCE(MAX(id), 0) FROM segments WHERE id <= ?) AND id <= ?`, first, last)
        .raw<[number, number]>(),
    ];
  }

  insertRows(batch: Pick<MessageBatch, "ids" | "ts" | "bodies" | "metas">, due: number[]): number {
    // Multi-row inserts: the cost is per statement more than per row. RETURNING tells which rows
    // are new: a retried copy that is already here is not a new message.
    let added = 0;
    for (let i = 0; i < batch.ids.length; i += ROWS_PER_INSERT) {
      const k = Math.min(ROWS_PER_INSERT, batch.ids.length - i);
      const params: SqlStorageValue[] = [];
      for (let j = i; j < i + k; j++) params.push(batch.ids[j], batch.ts[j], due[j], blob(batch.bodies[j]), batch.metas?.[j] ?? null);
      added += this.sql.exec(insertStatement(k), ...params).toArray().length;
    }
    return added;
  }

  saveRow(id: number, ts: number, attempts: number, due: number, body: Uint8Array, meta: string | null) {
    this.sql.exec(`INSERT OR REPLACE INTO messages (id, ts, attempts, due, body, meta) VALUES (?, ?, ?, ?, ?, ?)`, id, ts, attempts, due, blob(body), meta);
  }

  row(id: number): Row | null {
    return this.sql.exec(`SELECT id, ts, attempts, body, meta FROM messages WHERE id = ?`, id).raw<Row>().next().value ?? null;
  }

  updateRow(id: number, attempts: number, due: number) {
    this.sql.exec(`UPDATE messages SET attempts = ?, due = ? WHERE id = ?`, attempts, due, id);
  }

  deleteRows(ids: number[], retain = false): number {
    let deleted = 0;
    for (let i = 0; i < ids.length; i += SQL_PARAMS) {
      const chunk = ids.slice(i, i + SQL_PARAMS);
      const list = placeholders(chunk.length);
      if (retain) this.sql.exec(`INSERT OR REPLACE INTO retained (id, ts, attempts, body, meta) SELECT id, ts, attempts, body, meta FROM messages WHERE id IN (${list})`, ...chunk);
      deleted += this.sql.exec(`DELETE FROM messages WHERE id IN (${list})`, ...chunk).rowsWritten;
    }
    return deleted;
  }

  pruneRetained(before: number) {
    this.sql.exec(`DELETE FROM retained WHERE ts < ?`, before);
    const done = `SELECT s.id FROM segments s JOIN acks a ON a.seg = s.id WHERE a.done >= s.count AND s.ts < ?`;
    const ids = [...this.sql.exec(done, before).raw<[number]>()].map(([id]) => id);
    for (let i = 0; i < ids.length; i += SQL_PARAMS) {
      const chunk = ids.slice(i, i + SQL_PARAMS);
      this.sql.exec(`DELETE FROM segments WHERE id IN (${placeholders(chunk.length)})`, ...chunk);
      this.sql.exec(`DELETE FROM acks WHERE seg IN (${placeholders(chunk.length)})`, ...chunk);
    }
  }

  allSegments(cursor: number, limit: number) {
    return [
      ...this.sql
        .exec(`SELECT s.id, s.data, a.done, a.bits FROM segments s LEFT JOIN acks a ON a.seg = s.id WHERE s.id > ? ORDER BY s.id LIMIT ?`, cursor, limit)
        .raw<[number, ArrayBuffer, number | null, ArrayBuffer | null]>(),
    ];
  }

  rowIdsBetween(first: number, last: number): Set<number> {
    const ids = new Set<number>();
    for (const table of ["messages", "retained", "dead"]) {
      for (const [id] of this.sql.exec(`SELECT id FROM ${table} WHERE id BETWEEN ? AND ?`, first, last).raw<[number]>()) ids.add(id);
    }
    return ids;
  }

  seekRows(t: number, floor: number, now: number, retain: boolean) {
    if (retain) this.sql.exec(`INSERT OR REPLACE INTO retained (id, ts, attempts, body, meta) SELECT id, ts, attempts, body, meta FROM messages WHERE ts < ?`, t);
    this.sql.exec(`DELETE FROM messages WHERE ts < ?`, t);
    this.sql.exec(`UPDATE messages SET due = ? WHERE due = 0`, now);
    this.sql.exec(`INSERT OR IGNORE INTO messages (id, ts, attempts, due, body, meta) SELECT id, ts, attempts, ?, body, meta FROM retained WHERE ts >= ?`, now, floor);
    this.sql.exec(`DELETE FROM retained WHERE ts >= ?`, floor);
  }

  segmentData(id: number): Uint8Array {
    const [[data]] = this.sql.exec(`SELECT data FROM segments WHERE id = ?`, id).raw<[ArrayBuffer]>();
    return new Uint8Array(data);
  }

  segmentsAfter(cursor: number, limit: number) {
    // (Segments kept for retention with every message done hold nothing to deliver.)
    return this.sql
      .exec(
        `SELECT s.id, s.data, a.done, a.bits FROM segments s LEFT JOIN acks a ON a.seg = s.id WHERE s.id > ? AND (a.done IS NULL OR a.done < s.count) ORDER BY s.id LIMIT ?`,
        cursor,
        limit,
      )
      .raw<[number, ArrayBuffer, number | null, ArrayBuffer | null]>();
  }

  saveBits(seg: number, done: number, bits: Uint8Array) {
    this.sql.exec(`INSERT OR REPLACE INTO acks (seg, done, bits) VALUES (?, ?, ?)`, seg, done, blob(bits));
  }

  deleteSegment(seg: number, acked: boolean) {
    this.sql.exec(`DELETE FROM segments WHERE id = ?`, seg);
    if (acked) this.sql.exec(`DELETE FROM acks WHERE seg = ?`, seg);
  }

  dueRows(now: number, limit: number): Iterable<Row> {
    return this.sql.exec(`SELECT id, ts, attempts, body, meta FROM messages WHERE due > 0 AND due <= ? ORDER BY due LIMIT ?`, now, limit).raw<Row>();
  }

  claimRows(ids: number[]) {
    for (let i = 0; i < ids.length; i += SQL_PARAMS) {
      const chunk = ids.slice(i, i + SQL_PARAMS);
      this.sql.exec(`UPDATE messages SET due = 0 WHERE id IN (${placeholders(chunk.length)})`, ...chunk);
    }
  }

  minDue(): number {
    return this.sql.exec<{ due: number | null }>(`SELECT MIN(due) AS due FROM messages WHERE due > 0`).one().due ?? Infinity;
  }

  deferredCount(now: number): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE due > ?`, now).one().n;
  }

  queuedRows(limit: number): Iterable<[...Row, number]> {
    return this.sql.exec(`SELECT id, ts, attempts, body, meta, due FROM messages WHERE due > 0 ORDER BY due LIMIT ?`, limit).raw<[...Row, number]>();
  }

  bury(id: number, ts: number, attempts: number, body: Uint8Array, meta: string | null, reason: string, at: number) {
    this.sql.exec(`INSERT OR REPLACE INTO dead (id, ts, attempts, body, meta, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)`, id, ts, attempts, blob(body), meta, reason, at);
  }

  deadRows(limit: number): DeadRow[] {
    return [...this.sql.exec(`SELECT id, ts, attempts, body, meta, reason, at FROM dead ORDER BY id LIMIT ?`, limit).raw<DeadRow>()];
  }

  deleteDead(ids: number[]) {
    for (let i = 0; i < ids.length; i += SQL_PARAMS) {
      const chunk = ids.slice(i, i + SQL_PARAMS);
      this.sql.exec(`DELETE FROM dead WHERE id IN (${placeholders(chunk.length)})`, ...chunk);
    }
  }

  /** (Dead letters on their way out stay: they have left the channel already.) */
  clear() {
    this.sql.exec(`DELETE FROM retained`);
    this.sql.exec(`DELETE FROM messages`);
    this.sql.exec(`DELETE FROM segments`);
    this.sql.exec(`DELETE FROM acks`);
  }
}

/** For a table stored before `column` existed: adds it (CREATE TABLE IF NOT EXISTS leaves an old table as it was). */
function addColumnIfMissing(sql: SqlStorage, table: string, column: string, declaration: string) {
  if (!sql.exec<{ name: string }>(`PRAGMA table_info(${table})`).toArray().some((c) => c.name === column)) {
    sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
  }
}
