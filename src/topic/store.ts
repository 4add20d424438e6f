// A topic's storage: its schema and every statement, behind one interface (the object never
// writes SQL itself). Backlog and outbox hold segments (src/segment.ts) exactly as the channels
// take them, one row per segment keyed by its first message id.
import type { MessageCounts } from "../objects";
import { segmentHeader } from "../segment";
import { topicSettings, type TopicSettings } from "../settings";
import type { Bound } from "./admission";
import { blob, readMeta, setMeta } from "../sql";

/** What a topic keeps across restarts, as loaded when its object starts. */
export interface TopicState {
  name: string | null;
  paused: boolean;
  /** The last channel generation handed out. */
  generation: number;
  /** The end of the last reserved block of ids (src/topic/ids.ts); 0 before the topic exists. */
  idLimit: number;
  /** Channel name -> generation. */
  channels: Map<string, number>;
  /** Messages in the backlog. */
  backlogCount: number;
  /** /stats' message_count and message_bytes as last stored. */
  messageCount: number;
  messageBytes: number;
  /** Shard 0: the topic's shard count (src/topic/shards.ts); 1 for an unsharded topic. */
  shards: number;
  /** Shard 0: how many shard objects exist (more than `shards` while some drain away). */
  shardLimit: number;
  /** Whether this object's ids are a sharded topic's (every MAX_SHARDS-th). */
  sharded: boolean;
  settings: TopicSettings;
  /** Its channels with overflow reject and a bound (src/topic/admission.ts). */
  bounds: Bound[];
  duplicateCount: number;
  rejectedCount: number;
}

/** Stored segments read in id order, up to a fan-out's worth. */
export interface SegmentRead {
  segments: Uint8Array[];
  /** Messages in them. */
  count: number;
  /** The id of the last segment read: delete up to it once delivered. */
  lastId: number;
}

export interface TopicStore {
  load(): TopicState;
  setName(name: string): void;
  setPaused(paused: boolean): void;
  setIdLimit(limit: number): void;
  /** Records the shard count (shard 0) and that ids are a sharded topic's. */
  setShards(shards: number, sharded: boolean, limit?: number): void;
  saveCounts(counts: MessageCounts): void;
  setSettings(settings: TopicSettings): void;
  /** A channel's bound under overflow reject (0, 0: none). */
  setBound(channel: string, maxDepth: number, maxBytes: number): void;

  /** Of `keys`, those stored at or after `since` (their windows: `since` per key). */
  keysSeen(keys: Map<string, number>): Set<string>;
  /** Keys of publishes just stored, with the counts of duplicates and refusals so far. */
  recordKeys(keys: string[], at: number, duplicateCount: number, rejectedCount: number): void;
  /** Forgets keys stored before `before`. */
  pruneKeys(before: number): void;

  /** Records a new channel and the generation counter that produced it. */
  addChannel(name: string, generation: number): void;
  /** Forgets a channel and the copies its outbox held for it. */
  removeChannel(name: string): void;

  /** Appends segments to the backlog, with the counts that include them; returns their messages. */
  appendBacklog(segments: Uint8Array[], counts: MessageCounts): number;
  readBacklog(): SegmentRead;
  /** Drops backlog segments up to `lastId` (delivered). */
  dropBacklog(lastId: number): void;
  clearBacklog(): void;

  /** Keeps a channel's copy of segments it did not take, with the counts that include them. */
  appendOutbox(channel: string, segments: Uint8Array[], counts: MessageCounts): void;
  outboxChannels(): string[];
  readOutbox(channel: string): SegmentRead;
  /** Drops a channel's outbox segments up to `lastId`, or all of them. */
  dropOutbox(channel: string, lastId?: number): void;

  /** Wipes everything (the topic is deleted); the store is empty and usable after. */
  deleteAll(): Promise<void>;
}

/** How much one read of the backlog or outbox returns (at least one segment). */
export interface ReadBounds {
  maxMessages: number;
  maxBytes: number;
}

/** Bound parameters per statement (Durable Object SQL allows 100). */
const SQL_PARAMS = 100;

const INSERT_BACKLOG = `INSERT OR IGNORE INTO backlog_segments (id, count, data) VALUES (?, ?, ?)`;
const INSERT_OUTBOX = `INSERT OR IGNORE INTO outbox_segments (channel, id, count, data) VALUES (?, ?, ?, ?)`;

/** The store in a Durable Object's SQLite storage. */
export class SqlTopicStore implements TopicStore {
  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage, private readonly bounds: ReadBounds) {
    this.sql = storage.sql;
    this.createSchema();
  }

  private createSchema() {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS channels (name TEXT PRIMARY KEY, generation INTEGER NOT NULL)`);
    // Messages not yet handed to channels: while paused, or before the first channel exists.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS backlog_segments (id INTEGER PRIMARY KEY, count INTEGER NOT NULL, data BLOB NOT NULL)`);
    // Copies a channel has not confirmed yet; retried by the alarm.
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS outbox_segments (channel TEXT NOT NULL, id INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (channel, id))`,
    );
    // Channels with overflow reject: the topic refuses a publish that would pass their bound.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS channel_bounds (name TEXT PRIMARY KEY, max_depth INTEGER NOT NULL, max_bytes INTEGER NOT NULL)`);
    // Idempotency keys (and content hashes) of stored publishes, within the dedup window.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS dedup (key TEXT PRIMARY KEY, at INTEGER NOT NULL)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS dedup_by_at ON dedup (at)`);
  }

  load(): TopicState {
    const meta = readMeta(this.sql);
    const channels = new Map<string, number>();
    for (const row of this.sql.exec<{ name: string; generation: number }>(`SELECT name, generation FROM channels`)) {
      channels.set(row.name, row.generation);
    }
    return {
      name: (meta.get("name") as string | undefined) ?? null,
      paused: meta.get("paused") === 1,
      generation: (meta.get("generation") as number | undefined) ?? 0,
      idLimit: (meta.get("id_limit") as number | undefined) ?? 0,
      channels,
      backlogCount: this.sql.exec<{ n: number | null }>(`SELECT SUM(count) AS n FROM backlog_segments`).one().n ?? 0,
      messageCount: (meta.get("message_count") as number | undefined) ?? 0,
      messageBytes: (meta.get("message_bytes") as number | undefined) ?? 0,
      shards: (meta.get("shards") as number | undefined) ?? 1,
      shardLimit: (meta.get("shard_limit") as number | undefined) ?? ((meta.get("shards") as number | undefined) ?? 1),
      sharded: meta.get("sharded") === 1,
      settings: topicSettings(meta.get("settings")),
      bounds: this.sql
        .exec<{ name: string; max_depth: number; max_bytes: number }>(`SELECT name, max_depth, max_bytes FROM channel_bounds`)
        .toArray()
        .map((r) => ({ channel: r.name, maxDepth: r.max_depth, maxBytes: r.max_bytes })),
      duplicateCount: (meta.get("duplicate_count") as number | undefined) ?? 0,
      rejectedCount: (meta.get("rejected_count") as number | undefined) ?? 0,
    };
  }

  setSettings(settings: TopicSettings) {
    this.setMeta("settings", JSON.stringify(settings));
  }

  setBound(channel: string, maxDepth: number, maxBytes: number) {
    if (maxDepth === 0 && maxBytes === 0) this.sql.exec(`DELETE FROM channel_bounds WHERE name = ?`, channel);
    else this.sql.exec(`INSERT OR REPLACE INTO channel_bounds (name, max_depth, max_bytes) VALUES (?, ?, ?)`, channel, maxDepth, maxBytes);
  }

  keysSeen(keys: Map<string, number>): Set<string> {
    // A statement per hundred keys, not per key: a publish of keyed messages costs a row each.
    const seen = new Set<string>();
    const all = [...keys.keys()];
    for (let i = 0; i < all.length; i += SQL_PARAMS) {
      const chunk = all.slice(i, i + SQL_PARAMS);
      for (const [key, at] of this.sql.exec(`SELECT key, at FROM dedup WHERE key IN (${chunk.map(() => "?").join(",")})`, ...chunk).raw<[string, number]>()) {
        if (at >= keys.get(key)!) seen.add(key);
      }
    }
    return seen;
  }

  recordKeys(keys: string[], at: number, duplicateCount: number, rejectedCount: number) {
    this.storage.transactionSync(() => {
      for (let i = 0; i < keys.length; i += SQL_PARAMS / 2) {
        const chunk = keys.slice(i, i + SQL_PARAMS / 2);
        this.sql.exec(`INSERT OR REPLACE INTO dedup (key, at) VALUES ${chunk.map(() => "(?, ?)").join(", ")}`, ...chunk.flatMap((k) => [k, at]));
      }
      this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('duplicate_count', ?), ('rejected_count', ?)`, duplicateCount, rejectedCount);
    });
  }

  pruneKeys(before: number) {
    this.sql.exec(`DELETE FROM dedup WHERE at < ?`, before);
  }

  private setMeta(key: string, value: SqlStorageValue) {
    setMeta(this.sql, key, value);
  }

  setName(name: string) {
    this.setMeta("name", name);
  }

  setShards(shards: number, sharded: boolean, limit = shards) {
    this.setMeta("shards", shards);
    this.setMeta("shard_limit", limit);
    this.setMeta("sharded", sharded ? 1 : 0);
  }

  setPaused(paused: boolean) {
    this.setMeta("paused", paused ? 1 : 0);
  }

  setIdLimit(limit: number) {
    this.setMeta("id_limit", limit);
  }

  saveCounts(counts: MessageCounts) {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('message_count', ?), ('message_bytes', ?)`, counts.count, counts.bytes);
  }

  addChannel(name: string, generation: number) {
    this.setMeta("generation", generation);
    this.sql.exec(`INSERT OR REPLACE INTO channels (name, generation) VALUES (?, ?)`, name, generation);
  }

  removeChannel(name: string) {
    this.sql.exec(`DELETE FROM channels WHERE name = ?`, name);
    this.sql.exec(`DELETE FROM outbox_segments WHERE channel = ?`, name);
    this.sql.exec(`DELETE FROM channel_bounds WHERE name = ?`, name);
  }

  appendBacklog(segments: Uint8Array[], counts: MessageCounts): number {
    return this.storage.transactionSync(() => {
      this.saveCounts(counts);
      let n = 0;
      for (const data of segments) {
        const { first, count } = segmentHeader(data);
        this.sql.exec(INSERT_BACKLOG, first, count, blob(data));
        n += count;
      }
      return n;
    });
  }

  readBacklog(): SegmentRead {
    return this.read(this.sql.exec(`SELECT id, count, data FROM backlog_segments ORDER BY id`));
  }

  dropBacklog(lastId: number) {
    this.sql.exec(`DELETE FROM backlog_segments WHERE id <= ?`, lastId);
  }

  clearBacklog() {
    this.sql.exec(`DELETE FROM backlog_segments`);
  }

  appendOutbox(channel: string, segments: Uint8Array[], counts: MessageCounts) {
    this.storage.transactionSync(() => {
      this.saveCounts(counts);
      for (const data of segments) {
        const { first, count } = segmentHeader(data);
        this.sql.exec(INSERT_OUTBOX, channel, first, count, blob(data));
      }
    });
  }

  outboxChannels(): string[] {
    return this.sql.exec<{ channel: string }>(`SELECT DISTINCT channel FROM outbox_segments`).toArray().map((r) => r.channel);
  }

  readOutbox(channel: string): SegmentRead {
    return this.read(this.sql.exec(`SELECT id, count, data FROM outbox_segments WHERE channel = ? ORDER BY id`, channel));
  }

  dropOutbox(channel: string, lastId?: number) {
    if (lastId === undefined) this.sql.exec(`DELETE FROM outbox_segments WHERE channel = ?`, channel);
    else this.sql.exec(`DELETE FROM outbox_segments WHERE channel = ? AND id <= ?`, channel, lastId);
  }

  async deleteAll(): Promise<void> {
    await this.storage.deleteAll();
    // The tables went too; the object lives on (a publish may re-create the topic).
    this.createSchema();
  }

  /** Takes rows (id, count, data) in order while they fit the bounds; the cursor stops there. */
  private read(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): SegmentRead {
    const { maxMessages, maxBytes } = this.bounds;
    const segments: Uint8Array[] = [];
    let count = 0;
    let bytes = 0;
    let lastId = 0;
    for (const [id, n, data] of cursor.raw<[number, number, ArrayBuffer]>()) {
      if (segments.length > 0 && (count + n > maxMessages || bytes + data.byteLength > maxBytes)) break;
      segments.push(new Uint8Array(data));
      count += n;
      bytes += data.byteLength;
      lastId = id;
    }
    return { segments, count, lastId };
  }
}
