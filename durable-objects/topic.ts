// TopicObject: one per topic. Accepts publishes, assigns message ids and fans a copy of every
// message out to each channel. A publish resolves only once every message is durable: in every
// channel's storage, or in this object's own (the backlog while paused or channel-less, the
// outbox for a channel that could not take its copy).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/config";
import { isEphemeral } from "../src/protocol/names";
import type { MessageBatch } from "../src/message";
import { packSegments, segmentHeader } from "../src/segment";
import { blob } from "../src/sql";
import type { ChannelStats, TopicStats } from "../src/stats";
import { channelStub, registryStub } from "../src/stubs";


interface Pending {
  bodies: Uint8Array[];
  deferMs: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Ids are reserved in blocks so that a restart never reissues one; one write per block. */
const ID_BLOCK = 1_000_000;
/** Messages per fan-out RPC and per backlog read: bounds memory and RPC size. */
const FANOUT_MAX_MESSAGES = 5000;
const FANOUT_MAX_BYTES = 8 * 1024 * 1024;
const RETRY_DELAY_MS = 1000;

export class TopicObject extends DurableObject<Env> {
  private sql: SqlStorage;
  private name: string | null = null;
  private paused = false;
  /** Channel name -> generation; a generation tells a re-created channel from its predecessor. */
  private channels = new Map<string, number>();
  private generation = 0;
  private nextId = 0;
  private idLimit = 0;
  private backlogCount = 0;
  // /stats' counts. They are written with the messages they count: in this object's backlog or
  // outbox transaction, or (a fan-out stores nothing here) in every channel's push transaction,
  // which keeps the topic's counts as of that push. After a restart they are the most of this
  // object's and its channels' (recoverCounts()), before the first publish is counted.
  private messageCount = 0;
  private messageBytes = 0;
  private recovery: Promise<void> | null = null;
  private recovered = false;
  private queue: Pending[] = [];
  private flushing = false;
  private draining = false;
  /** Serializes changes to the channel list (create, delete, ephemeral clean-up). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.load();
  }

  private load() {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS channels (name TEXT PRIMARY KEY, generation INTEGER NOT NULL)`);
    // Both hold segments (src/segment.ts) as the channels take them, keyed by first message id.
    // Messages not yet handed to channels: while paused, or before the first channel exists.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS backlog_segments (id INTEGER PRIMARY KEY, count INTEGER NOT NULL, data BLOB NOT NULL)`);
    // Copies a channel has not confirmed yet; retried by the alarm.
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS outbox_segments (channel TEXT NOT NULL, id INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (channel, id))`,
    );
    this.migrateRows();
    const meta = new Map<string, SqlStorageValue>();
    for (const row of this.sql.exec<{ key: string; value: SqlStorageValue }>(`SELECT key, value FROM meta`)) meta.set(row.key, row.value);
    this.name = (meta.get("name") as string | undefined) ?? null;
    this.paused = meta.get("paused") === 1;
    this.generation = (meta.get("generation") as number | undefined) ?? 0;
    this.idLimit = (meta.get("id_limit") as number | undefined) ?? 0;
    // Never reuse an id of the last reserved block: it may have been acknowledged.
    this.nextId = this.idLimit;
    this.channels.clear();
    for (const row of this.sql.exec<{ name: string; generation: number }>(`SELECT name, generation FROM channels`)) {
      this.channels.set(row.name, row.generation);
    }
    this.backlogCount = this.sql.exec<{ n: number | null }>(`SELECT SUM(count) AS n FROM backlog_segments`).one().n ?? 0;
    this.messageCount = (meta.get("message_count") as number | undefined) ?? 0;
    this.messageBytes = (meta.get("message_bytes") as number | undefined) ?? 0;
    this.recovery = null;
    this.recovered = this.channels.size === 0;
  }

  /** Takes the channels' copies of the counts (see messageCount); once per start. */
  private recoverCounts(): Promise<void> {
    return (this.recovery ??= (async () => {
      const topic = this.name!;
      const names = [...this.channels.keys()];
      const counts = await Promise.allSettled(names.map((ch) => channelStub(this.env, topic, ch).topicCounts()));
      for (const r of counts) {
        if (r.status !== "fulfilled") continue;
        this.messageCount = Math.max(this.messageCount, r.value.count);
        this.messageBytes = Math.max(this.messageBytes, r.value.bytes);
      }
      this.recovered = true;
    })());
  }

  /** The counts as of now, for a push or a row of this object's. */
  private counts() {
    return { count: this.messageCount, bytes: this.messageBytes };
  }

  private saveCounts() {
    this.sql.exec(
      `INSERT OR REPLACE INTO meta (key, value) VALUES ('message_count', ?), ('message_bytes', ?)`,
      this.messageCount, this.messageBytes,
    );
  }

  /** Storage written with one row per message (before segments) becomes segments. */
  private migrateRows() {
    const tables = new Set(
      this.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('backlog', 'outbox')`).toArray().map((r) => r.name),
    );
    // A fan-out's worth of rows at a time, so that a long backlog never sits in memory.
    const migrate = (from: string, where: string, bindings: SqlStorageValue[], insert: string) => {
      for (let after = -1; ; ) {
        const batch: Required<MessageBatch> = { ids: [], ts: [], defers: [], bodies: [] };
        const rows = this.sql.exec<{ id: number; ts: number; defer: number; body: ArrayBuffer }>(
          `SELECT id, ts, defer, body FROM ${from} WHERE ${where} id > ? ORDER BY id LIMIT ?`,
          ...bindings, after, FANOUT_MAX_MESSAGES,
        );
        for (const r of rows) {
          batch.ids.push(r.id);
          batch.ts.push(r.ts);
          batch.defers.push(r.defer);
          batch.bodies.push(new Uint8Array(r.body));
        }
        if (batch.ids.length === 0) break;
        this.insertSegments(insert, bindings, packSegments(batch));
        after = batch.ids[batch.ids.length - 1];
      }
    };
    if (tables.has("backlog")) {
      migrate("backlog", "", [], `INSERT OR IGNORE INTO backlog_segments (id, count, data) VALUES (?, ?, ?)`);
      this.sql.exec(`DROP TABLE backlog`);
    }
    if (tables.has("outbox")) {
      for (const { channel } of this.sql.exec<{ channel: string }>(`SELECT DISTINCT channel FROM outbox`).toArray()) {
        migrate("outbox", "channel = ? AND", [channel], `INSERT OR IGNORE INTO outbox_segments (channel, id, count, data) VALUES (?, ?, ?, ?)`);
      }
      this.sql.exec(`DROP TABLE outbox`);
    }
  }

  /** Inserts segments with `insert` (its leading parameters, then id, count, data); returns the message count. */
  private insertSegments(insert: string, leading: SqlStorageValue[], segments: Uint8Array[]): number {
    let n = 0;
    for (const data of segments) {
      const { first, count } = segmentHeader(data);
      this.sql.exec(insert, ...leading, first, count, blob(data));
      n += count;
    }
    return n;
  }

  private setMeta(key: string, value: unknown) {
    this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value as SqlStorageValue);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  // ---- existence -------------------------------------------------------------------------

  exists(): boolean {
    return this.name !== null;
  }

  /** Creates the topic if needed (as nsqd's GetTopic does on PUB and SUB). */
  async create(topic: string): Promise<void> {
    if (this.name !== null) return;
    this.name = topic;
    this.setMeta("name", topic);
    if (this.idLimit === 0) {
      // Start ids at the creation time in microseconds: a re-created topic never repeats an old id.
      this.nextId = this.idLimit = Date.now() * 1000;
      this.setMeta("id_limit", this.idLimit);
    }
    await registryStub(this.env).addTopic(topic);
  }

  // ---- publishing ------------------------------------------------------------------------

  /** Resolves once every body is durable (in every channel, or in this object's storage). */
  async publish(topic: string, bodies: Uint8Array[], deferMs = 0): Promise<void> {
    await this.create(topic);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bodies, deferMs, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Group commit: publishes that arrive while one fan-out is under way share the next. */
  private async flush() {
    this.flushing = true;
    try {
      if (!this.recovered) await this.recoverCounts();
      while (this.queue.length) {
        const group = this.takeGroup();
        try {
          await this.deliver(this.assign(group));
          for (const p of group) p.resolve();
        } catch (e) {
          for (const p of group) p.reject(e);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The publishes for one fan-out: at least one, within the message and byte bounds of an RPC. */
  private takeGroup(): Pending[] {
    let count = 0;
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const p = this.queue[n];
      let size = 0;
      for (const b of p.bodies) size += b.length;
      if (n > 0 && (count + p.bodies.length > FANOUT_MAX_MESSAGES || bytes + size > FANOUT_MAX_BYTES)) break;
      count += p.bodies.length;
      bytes += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private assign(group: Pending[]): MessageBatch {
    const now = Date.now();
    const batch: MessageBatch = { ids: [], ts: [], bodies: [] };
    let deferred = false;
    for (const p of group) if (p.deferMs > 0) deferred = true;
    if (deferred) batch.defers = [];
    let count = 0;
    for (const p of group) count += p.bodies.length;
    if (this.nextId + count > this.idLimit) {
      this.idLimit = this.nextId + count + ID_BLOCK;
      this.setMeta("id_limit", this.idLimit);
    }
    for (const p of group) {
      for (const body of p.bodies) {
        batch.ids.push(this.nextId++);
        batch.ts.push(now);
        batch.bodies.push(body);
        batch.defers?.push(p.deferMs);
        this.messageBytes += body.length;
      }
    }
    this.messageCount += count;
    return batch;
  }

  private async deliver(batch: MessageBatch) {
    // Packed once: the same segments go to every channel, or into the backlog.
    const segments = packSegments(batch);
    if (this.paused || this.channels.size === 0 || this.backlogCount > 0) {
      // Keep order: while a backlog exists, new messages queue behind it.
      this.backlogCount += this.ctx.storage.transactionSync(() => {
        this.saveCounts();
        return this.insertSegments(`INSERT OR IGNORE INTO backlog_segments (id, count, data) VALUES (?, ?, ?)`, [], segments);
      });
      if (!this.paused && this.channels.size > 0) void this.drain();
      // Publishes that arrive while this write commits form the next group (without the wait,
      // each would be a group and a commit of its own).
      await this.ctx.storage.sync();
      return;
    }
    await this.fanOut(segments);
  }

  /** Sends segments to every channel; a channel that fails gets them through the outbox. */
  private async fanOut(segments: Uint8Array[]) {
    const topic = this.name!;
    const names = [...this.channels.keys()];
    const counts = this.counts();
    const results = await Promise.allSettled(
      names.map((ch) => channelStub(this.env, topic, ch).push(segments, counts)),
    );
    let failed = false;
    results.forEach((r, i) => {
      // A channel deleted meanwhile needs no copy.
      if (r.status === "rejected" && this.channels.has(names[i])) {
        console.error(`topic ${topic}: channel ${names[i]} did not take ${segments.length} segments: ${r.reason}`);
        this.ctx.storage.transactionSync(() => {
          this.saveCounts();
          this.insertSegments(`INSERT OR IGNORE INTO outbox_segments (channel, id, count, data) VALUES (?, ?, ?, ?)`, [names[i]], segments);
        });
        failed = true;
      }
    });
    if (failed) await this.scheduleRetry();
  }

  private async scheduleRetry() {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + RETRY_DELAY_MS);
  }

  /** Hands the backlog to the channels, oldest first, a bounded batch at a time. */
  private async drain() {
    if (this.draining) return;
    this.draining = true;
    try {
      // If this object stops mid-drain, the alarm finishes the job.
      await this.scheduleRetry();
      while (!this.paused && this.channels.size > 0) {
        const read = readSegments(this.sql, `SELECT id, count, data FROM backlog_segments ORDER BY id`, []);
        if (read.segments.length === 0) break;
        await this.fanOut(read.segments);
        this.sql.exec(`DELETE FROM backlog_segments WHERE id <= ?`, read.lastId);
        this.backlogCount -= read.count;
      }
    } finally {
      this.draining = false;
    }
  }

  /** Retries the outbox and resumes an interrupted drain. */
  override async alarm() {
    if (this.name === null) return;
    const topic = this.name;
    const channels = this.sql.exec<{ channel: string }>(`SELECT DISTINCT channel FROM outbox_segments`).toArray();
    let failed = false;
    for (const { channel } of channels) {
      if (!this.channels.has(channel)) {
        this.sql.exec(`DELETE FROM outbox_segments WHERE channel = ?`, channel);
        continue;
      }
      for (;;) {
        const read = readSegments(this.sql, `SELECT id, count, data FROM outbox_segments WHERE channel = ? ORDER BY id`, [channel]);
        if (read.segments.length === 0) break;
        try {
          await channelStub(this.env, topic, channel).push(read.segments, this.counts());
        } catch (e) {
          console.error(`topic ${topic}: retry to channel ${channel} failed: ${e}`);
          failed = true;
          break;
        }
        this.sql.exec(`DELETE FROM outbox_segments WHERE channel = ? AND id <= ?`, channel, read.lastId);
      }
    }
    if (this.backlogCount > 0 && !this.paused && this.channels.size > 0) await this.drain();
    if (failed) await this.ctx.storage.setAlarm(Date.now() + RETRY_DELAY_MS);
  }

  // ---- channels --------------------------------------------------------------------------

  /** Creates the channel if needed (nsqd's GetChannel); returns once it can take consumers. */
  createChannel(topic: string, channel: string): Promise<void> {
    return this.locked(async () => {
      await this.create(topic);
      const known = this.channels.get(channel);
      const generation = known ?? ++this.generation;
      const first = this.channels.size === 0;
      // Init first: the fan-out reaches a channel only once it is ready to store.
      await channelStub(this.env, topic, channel).init(topic, channel, generation);
      if (known === undefined) {
        this.setMeta("generation", generation);
        this.sql.exec(`INSERT OR REPLACE INTO channels (name, generation) VALUES (?, ?)`, channel, generation);
        this.channels.set(channel, generation);
        await registryStub(this.env).addChannel(topic, channel);
      }
      if (first && this.backlogCount > 0 && !this.paused) void this.drain();
    });
  }

  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** Deletes a channel and its messages; false when there is no such channel. */
  deleteChannel(channel: string): Promise<boolean> {
    return this.locked(async () => {
      if (!this.channels.has(channel)) return false;
      await this.forgetChannel(channel);
      await channelStub(this.env, this.name!, channel).destroy();
      await this.removeIfEphemeralAndEmpty();
      return true;
    });
  }

  /** An ephemeral channel lost its last consumer: delete it unless one came back meanwhile. */
  channelIdle(channel: string, generation: number): Promise<void> {
    return this.locked(async () => {
      if (this.channels.get(channel) !== generation) return;
      const destroyed = await channelStub(this.env, this.name!, channel).destroyIfIdle(generation);
      if (!destroyed) return;
      await this.forgetChannel(channel);
      await this.removeIfEphemeralAndEmpty();
    });
  }

  private async forgetChannel(channel: string) {
    // The channel's copy of the counts goes with it.
    if (!this.recovered) await this.recoverCounts();
    this.saveCounts();
    this.channels.delete(channel);
    this.sql.exec(`DELETE FROM channels WHERE name = ?`, channel);
    this.sql.exec(`DELETE FROM outbox_segments WHERE channel = ?`, channel);
    await registryStub(this.env).removeChannel(this.name!, channel);
  }

  /** nsqd deletes an ephemeral topic with its last channel. */
  private async removeIfEphemeralAndEmpty() {
    if (this.name !== null && isEphemeral(this.name) && this.channels.size === 0) await this.destroyTopic();
  }

  // ---- topic administration --------------------------------------------------------------

  /** Deletes the topic, its channels and every message; false when it does not exist. */
  delete(): Promise<boolean> {
    return this.locked(async () => {
      if (this.name === null) return false;
      const topic = this.name;
      await Promise.all([...this.channels.keys()].map((ch) => channelStub(this.env, topic, ch).destroy()));
      await this.destroyTopic();
      return true;
    });
  }

  private async destroyTopic() {
    const topic = this.name!;
    for (const ch of this.channels.keys()) await registryStub(this.env).removeChannel(topic, ch);
    await registryStub(this.env).removeTopic(topic);
    const rejected = this.queue.splice(0);
    for (const p of rejected) p.reject(new Error("exiting"));
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.name = null;
    this.paused = false;
    this.idLimit = 0;
    this.load();
  }

  /** Drops the messages the topic holds itself (not its channels'), as nsqd's topic empty. */
  empty(): boolean {
    if (this.name === null) return false;
    this.sql.exec(`DELETE FROM backlog_segments`);
    this.backlogCount = 0;
    return true;
  }

  setPaused(paused: boolean): boolean {
    if (this.name === null) return false;
    this.paused = paused;
    this.setMeta("paused", paused ? 1 : 0);
    if (!paused && this.backlogCount > 0 && this.channels.size > 0) void this.drain();
    return true;
  }

  channelNames(): string[] {
    return [...this.channels.keys()].sort();
  }

  async stats(channel?: string, includeClients = true): Promise<TopicStats | null> {
    if (this.name === null) return null;
    const topic = this.name;
    if (!this.recovered) await this.recoverCounts();
    const names = this.channelNames().filter((c) => channel === undefined || c === channel);
    // (An RPC result is typed as the value & Disposable: collect the non-null ones as plain stats.)
    const channels: ChannelStats[] = [];
    for (const s of await Promise.all(names.map((ch) => channelStub(this.env, topic, ch).stats(includeClients)))) {
      if (s !== null) channels.push(s);
    }
    return {
      topic_name: topic,
      channels,
      depth: this.backlogCount,
      backend_depth: this.backlogCount,
      message_count: this.messageCount,
      message_bytes: this.messageBytes,
      paused: this.paused,
      e2e_processing_latency: { count: 0, percentiles: null },
    };
  }
}

/** Reads stored segments in id order, up to a fan-out's worth of messages and bytes. */
function readSegments(sql: SqlStorage, query: string, bindings: SqlStorageValue[]) {
  const segments: Uint8Array[] = [];
  let count = 0;
  let bytes = 0;
  let lastId = 0;
  for (const [id, n, data] of sql.exec(query, ...bindings).raw<[number, number, ArrayBuffer]>()) {
    if (segments.length > 0 && (count + n > FANOUT_MAX_MESSAGES || bytes + data.byteLength > FANOUT_MAX_BYTES)) break;
    segments.push(new Uint8Array(data));
    count += n;
    bytes += data.byteLength;
    lastId = id;
  }
  return { segments, count, lastId };
}
