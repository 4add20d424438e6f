// TopicObject: one per topic. Accepts publishes, assigns message ids and fans a copy of every
// message out to each channel. A publish resolves only once every message is durable: in every
// channel's storage, or in this object's own (the backlog while paused or channel-less, the
// outbox for a channel that could not take its copy). The parts are in src/topic/: ids.ts
// (allocation), group-commit.ts (concurrent publishes share a fan-out), admission.ts (dedup and
// bounded channels: which publishes are stored), store.ts (every table and statement); this
// class wires them to its RPC methods and its alarm.
import { DurableObject } from "cloudflare:workers";
import { config, type Env } from "../src/config";
import type { Held, MessageCounts, PublishAnswer, PublishOptions, TopicRpc } from "../src/objects";
import { admit, DUPLICATE, messagesOf, QUEUE_FULL, repack, type Bound, type Unit } from "../src/topic/admission";
import { showTopicSettings, TOPIC_DEFAULTS, type ChannelSettings, type TopicSettings } from "../src/settings";
import { isEphemeral } from "../src/protocol/names";
import { MAX_SHARDS, NOT_A_SHARD, SHARD_DRAINED, shardOf } from "../src/topic/shards";
import { segmentCount, stampSegment } from "../src/segment";
import { hasKeys, unpackUnits } from "../src/publish-units";
import { toHex } from "../src/auth/tokens";
import type { ChannelStats, TopicStats } from "../src/stats";
import { channelStub, registryStub, topicStub } from "../src/stubs";
import { GroupCommit, type GroupBounds } from "../src/topic/group-commit";
import { IdAllocator } from "../src/topic/ids";
import { latencyOf, mergeHistograms } from "../src/channel/latency";
import { SqlTopicStore, type TopicStore } from "../src/topic/store";

/** Messages per fan-out RPC and per backlog or outbox read: bounds memory and RPC size. */
const FANOUT_MAX_MESSAGES = 5000;
const FANOUT_MAX_BYTES = 8 * 1024 * 1024;
const RETRY_DELAY_MS = 1000;

/** A dead letter's or a redrive's key is kept this long, whatever the topic's dedup window. */
const SYSTEM_KEY_WINDOW_MS = 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 60_000;

/** One publish RPC's segments (PUB, MPUB, DPUB, or a group of /pub and /mpub requests). */
interface Item {
  segments: Uint8Array[];
  options?: PublishOptions;
}

const FANOUT_GROUP: GroupBounds<Item> = {
  maxCount: FANOUT_MAX_MESSAGES,
  maxBytes: FANOUT_MAX_BYTES,
  count: (item) => {
    let n = 0;
    for (const s of item.segments) n += segmentCount(s);
    return n;
  },
  bytes: (item) => {
    let n = 0;
    for (const s of item.segments) n += s.length;
    return n;
  },
};

export class TopicObject extends DurableObject<Env> implements TopicRpc {
  private store: TopicStore;
  /** This object's name: the topic's, or "topic/i" for its shard i (src/topic/shards.ts). */
  private name: string | null = null;
  /** Shard 0: how many shards the topic has (publishers and consumers use these)... */
  private shards = 1;
  /** ...and how many may exist: more while shards are being added (src/http/nsqd.ts). */
  private shardLimit = 1;
  private paused = false;
  /** Channel name -> generation; a generation tells a re-created channel from its predecessor. */
  private channels = new Map<string, number>();
  private generation = 0;
  private ids!: IdAllocator;
  private backlogCount = 0;
  // /stats' counts. They are written with the messages they count: in this object's backlog or
  // outbox transaction, or (a fan-out stores nothing here) in every channel's push transaction,
  // which keeps the topic's counts as of that push. After a restart they are the most of this
  // object's and its channels' (recoverCounts()), before the first publish is counted.
  private messageCount = 0;
  private messageBytes = 0;
  /** The counts as of the last publish made durable: what /stats shows (a counter never goes back). */
  private reported: MessageCounts = { count: 0, bytes: 0 };
  private recovery: Promise<void> | null = null;
  private recovered = false;
  /** Publishes that arrive while one fan-out is under way share the next. */
  private publishes = new GroupCommit<Item, PublishAnswer>((group) => this.commit(group), FANOUT_GROUP);
  private settingsNow: TopicSettings = TOPIC_DEFAULTS;
  /** Channels with overflow reject and a bound, and what each holds as it last told. */
  private bounds: Bound[] = [];
  private held = new Map<string, Held>();
  private duplicateCount = 0;
  private rejectedCount = 0;
  private prunedAt = 0;
  private draining = false;
  /** Events taken since this object started (the benchmark's count of calls per object). */
  private requests = 0;
  /** Serializes changes to the channel list (create, delete, ephemeral clean-up). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SqlTopicStore(ctx.storage, { maxMessages: FANOUT_MAX_MESSAGES, maxBytes: FANOUT_MAX_BYTES });
    this.load();
  }

  private load() {
    const s = this.store.load();
    this.name = s.name;
    this.paused = s.paused;
    this.generation = s.generation;
    this.shards = s.shards;
    this.shardLimit = s.shardLimit;
    this.ids = this.allocator(s.idLimit, s.sharded);
    this.channels = s.channels;
    this.backlogCount = s.backlogCount;
    this.messageCount = s.messageCount;
    this.messageBytes = s.messageBytes;
    this.reported = this.counts();
    this.settingsNow = s.settings;
    this.bounds = s.bounds;
    this.held.clear();
    this.duplicateCount = s.duplicateCount;
    this.rejectedCount = s.rejectedCount;
    this.recovery = null;
    this.recovered = this.channels.size === 0;
  }

  /** Ids for this object: a sharded topic's shard i hands out ids ≡ i (mod MAX_SHARDS). */
  private allocator(limit: number, sharded: boolean): IdAllocator {
    const index = this.name === null ? 0 : shardOf(this.name).index;
    return new IdAllocator(limit, (l) => this.store.setIdLimit(l), sharded ? MAX_SHARDS : 1, index);
  }

  /** The topic this object is (a shard of), and whether it is its shard 0 (which the registry knows). */
  private get topic(): { name: string; first: boolean } {
    const { topic, index } = shardOf(this.name!);
    return { name: topic, first: index === 0 };
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
      this.reported = this.counts();
      this.recovered = true;
    })());
  }

  /** The counts as of now, for a push or a row of this object's. */
  private counts(): MessageCounts {
    return { count: this.messageCount, bytes: this.messageBytes };
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

  /**
   * Creates the topic if needed (as nsqd's GetTopic does on PUB and SUB). `topic` is this
   * object's name (a shard's is "topic/i"); `shards` is the topic's shard count, given to shard 0.
   */
  async create(topic: string, shards = config(this.env).topicShards, idFloor = 0): Promise<void> {
    if (this.name !== null) return;
    // A shard exists only while its topic has that many (a publish may come from a stale count),
    // and never without its shard 0 (which the registry knows, and which holds the count).
    const { topic: base, index } = shardOf(topic);
    if (index > 0) {
      const first = topicStub(this.env, base);
      await first.create(base);
      if (index >= (await first.shardsAllowed())) throw new Error(`${topic}: ${NOT_A_SHARD}`);
    }
    if (this.name !== null) return;
    this.name = topic;
    const { name, first } = this.topic;
    this.shards = this.shardLimit = first ? shards : 1;
    const sharded = !first || shards > 1;
    this.store.setName(topic);
    this.store.setShards(this.shards, sharded);
    this.ids = this.allocator(0, sharded);
    // (A shard added later starts above every id shard 0 reserved: ids never repeat.)
    this.ids.start(Math.max(Date.now(), Math.ceil(idFloor / 1000)));
    if (first) await registryStub(this.env).addTopic(name);
  }

  /** Shard 0: the topic's shard count (for one not created yet, what it would be created with). */
  shardCount(): number {
    return this.name === null ? config(this.env).topicShards : this.shards;
  }

  /** Shard 0: how many shards may exist now (more than shardCount() while some are added). */
  shardsAllowed(): number {
    return this.name === null ? config(this.env).topicShards : this.shardLimit;
  }

  /**
   * Shard 0, adding shards (M > N): shards N..M-1 may now be created; this object's ids become a
   * sharded topic's (every MAX_SHARDS-th, from above those it reserved). Returns the id floor
   * for the new shards. The count itself changes with addShards(), once they are ready.
   */
  prepareShards(n: number): number {
    if (this.name === null || n <= this.shards) return 0;
    this.shardLimit = Math.max(this.shardLimit, n);
    if (this.ids.stride === 1) {
      this.store.setShards(this.shards, true);
      this.ids = this.allocator(this.ids.reserved, true);
    }
    return this.ids.reserved;
  }

  /** Shard 0: the added shards are ready (they have every channel): publishers may use them. */
  addShards(n: number) {
    if (this.name === null || n <= this.shards) return;
    this.shards = this.shardLimit = n;
    this.store.setShards(n, true);
  }

  /**
   * Shard 0: shards n.. take no more publishes (publishers use the first n) but keep delivering;
   * the alarm deletes each once it holds nothing, highest first (shardsAllowed() then falls).
   */
  async shrinkShards(n: number) {
    if (this.name === null || n >= this.shards || n < 1) return;
    this.shards = n;
    this.store.setShards(n, true, this.shardLimit);
    await this.scheduleRetry();
  }

  /** A shard holds nothing: no backlog or outbox, and no channel with a message queued, in flight or deferred. */
  async drained(): Promise<boolean> {
    if (this.backlogCount > 0 || this.store.outboxChannels().length > 0) return false;
    const topic = this.name!;
    const channels = await Promise.all([...this.channels.keys()].map((ch) => channelStub(this.env, topic, ch).stats(false)));
    return channels.every((c) => c === null || (c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0));
  }

  /** Shard 0's alarm: deletes the drained shards at the top; true while some still drain. */
  private async dropDrainedShards(): Promise<boolean> {
    while (this.shardLimit > this.shards) {
      const i = this.shardLimit - 1;
      const shard = `${this.name}/${i}`;
      const stub = topicStub(this.env, shard);
      if ((await stub.exists()) && !(await stub.drained())) return true;
      await stub.delete(SHARD_DRAINED);
      this.shardLimit = i;
      this.store.setShards(this.shards, true, this.shardLimit);
    }
    return false;
  }

  // ---- publishing ------------------------------------------------------------------------

  /**
   * Segments packed by the publisher (src/segment.ts's packPublishes), ids and times still to
   * fill in. Resolves once every message is durable (in every channel, or in this object).
   */
  async publish(topic: string, segments: Uint8Array[], options?: PublishOptions): Promise<PublishAnswer> {
    this.requests++;
    await this.create(topic);
    if (options?.channel !== undefined) return this.publishToChannel(options.channel, segments, options);
    return (await this.publishes.add({ segments, options })) ?? null;
  }

  /** One group of publishes: counted, given ids, and made durable together. */
  private async commit(group: Item[]): Promise<PublishAnswer[] | void> {
    if (!this.recovered) await this.recoverCounts();
    const admitted = this.admitting(group) ? await this.admit(group) : null;
    const segments = admitted?.segments ?? (group.length === 1 ? group[0]!.segments : group.flatMap((g) => g.segments));
    if (segments.length > 0) {
      this.assign(segments);
      await this.deliver(segments);
      this.reported = this.counts();
    }
    if (!admitted) return;
    this.recordAdmission(admitted.keys, admitted.duplicates, admitted.rejected);
    return admitted.answers;
  }

  /** Whether a group needs admission: a bounded channel, or dedup (a key, or content) under a window. */
  private admitting(group: Item[]): boolean {
    if (this.bounds.length > 0) return true;
    return group.some((g) => this.dedupWindow(g) > 0 && (this.settingsNow.dedup_content || hasKeys(g.options?.units)));
  }

  /** How long a publish's key counts: the topic's window, at least a day for a system publish (dead letters, redrives). */
  private dedupWindow(item: Item): number {
    return item.options?.system ? Math.max(SYSTEM_KEY_WINDOW_MS, this.settingsNow.dedup_window) : this.settingsNow.dedup_window;
  }

  /**
   * The group's publishes as units, through admission.ts: the segments to store (as they came
   * when every publish is admitted, else the admitted messages repacked), each item's answers,
   * and the keys to remember. Bodies are read only when something needs them (max_bytes, content
   * dedup, a repack).
   */
  private async admit(group: Item[], bounded = true) {
    const now = Date.now();
    const bounds = bounded ? this.bounds.filter((b) => this.channels.has(b.channel)) : [];
    const content = this.settingsNow.dedup_content && this.settingsNow.dedup_window > 0;
    const needBodies = content || bounds.some((b) => b.maxBytes > 0);
    // (Not known since this object started: ask.)
    for (const b of bounds) if (!this.held.has(b.channel)) this.held.set(b.channel, await channelStub(this.env, this.name!, b.channel).held());
    // The common case under a bound on depth: no key, and the whole group fits.
    if (!needBodies && !group.some((g) => this.dedupWindow(g) > 0 && hasKeys(g.options?.units))) {
      let n = 0;
      for (const g of group) for (const s of g.segments) n += segmentCount(s);
      const fits = bounds.every((b) => b.maxDepth === 0 || this.held.get(b.channel)!.count + this.backlogCount + n <= b.maxDepth);
      if (fits) return { segments: group.flatMap((g) => g.segments), answers: group.map(() => null), keys: [], duplicates: 0, rejected: 0 };
    }
    const units: Unit[] = [];
    const windows = new Map<string, number>();
    const messages = group.map((item) => (needBodies ? messagesOf(item.segments) : null));
    const given = group.map((item) => (item.options?.units ? unpackUnits(item.options.units) : [{ n: item.segments.reduce((n, s) => n + segmentCount(s), 0) }]));
    const sizes = given.map((units) => units.map((u) => u.n));
    for (const [i, item] of group.entries()) {
      const window = this.dedupWindow(item);
      let at = 0;
      for (const [index, n] of sizes[i]!.entries()) {
        const bodies = messages[i]?.bodies.slice(at, at + n) ?? [];
        at += n;
        let key = window > 0 ? given[i]![index]!.key : undefined;
        if (key === undefined && content) key = await this.contentKey(bodies);
        if (key !== undefined) windows.set(key, window);
        units.push({ n, bytes: bodies.reduce((sum, b) => sum + b.length, 0), key });
      }
    }
    const since = new Map([...windows].map(([key, window]) => [key, now - window]));
    const seen = since.size > 0 ? this.store.keysSeen(since) : new Set<string>();
    const decide = () => admit({ units, bounds, held: this.held, pending: { count: this.backlogCount, bytes: 0 }, seen: (key) => seen.has(key) });
    let verdicts = decide();
    // What a channel holds is as of its last push (consumers have taken some since): before
    // refusing, ask again.
    if (verdicts.includes(QUEUE_FULL)) {
      await Promise.all(bounds.map(async (b) => this.held.set(b.channel, await channelStub(this.env, this.name!, b.channel).held())));
      verdicts = decide();
    }
    const answers: PublishAnswer[] = group.map(() => null);
    const keys: string[] = [];
    let duplicates = 0;
    let rejected = 0;
    let k = 0;
    for (const [i, itemSizes] of sizes.entries()) {
      for (let index = 0; index < itemSizes.length; index++, k++) {
        const v = verdicts[k];
        if (v === null) {
          if (units[k]!.key !== undefined) keys.push(units[k]!.key!);
        } else if (v === DUPLICATE) duplicates++;
        else {
          rejected++;
          (answers[i] ??= new Array<string | null>(itemSizes.length).fill(null))[index] = v!;
        }
      }
    }
    const segments = verdicts.every((v) => v === null)
      ? group.flatMap((g) => g.segments)
      : repack(group.map((g, i) => ({ messages: messages[i] ?? messagesOf(g.segments), units: sizes[i]! })), verdicts);
    return { segments, answers, keys, duplicates, rejected };
  }

  private async contentKey(bodies: Uint8Array[]): Promise<string> {
    const all = new Uint8Array(bodies.reduce((n, b) => n + 4 + b.length, 0));
    let at = 0;
    for (const b of bodies) {
      new DataView(all.buffer).setUint32(at, b.length);
      all.set(b, at + 4);
      at += 4 + b.length;
    }
    return `sha256:${toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", all)))}`;
  }

  /** Remembers stored publishes' keys and counts the rest; forgets keys past every window now and then. */
  private recordAdmission(keys: string[], duplicates: number, rejected: number) {
    const now = Date.now();
    this.duplicateCount += duplicates;
    this.rejectedCount += rejected;
    if (keys.length > 0 || duplicates > 0 || rejected > 0) this.store.recordKeys(keys, now, this.duplicateCount, this.rejectedCount);
    if (now - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.store.pruneKeys(now - Math.max(SYSTEM_KEY_WINDOW_MS, this.settingsNow.dedup_window));
    }
  }

  /**
   * Messages for one channel only (a redrive back to it): ids from this topic, stored in that
   * channel (or its outbox) alone. Keys dedup as a dead letter's (a redrive retried after a crash).
   */
  private async publishToChannel(channel: string, segments: Uint8Array[], options: PublishOptions): Promise<PublishAnswer> {
    if (!this.channels.has(channel)) throw new Error("CHANNEL_NOT_FOUND");
    // (Keys only, no bounds: a redrive goes back to where it was accepted once.)
    const { segments: kept, keys, duplicates } = await this.admit([{ segments, options }], false);
    if (kept.length > 0) {
      this.assign(kept);
      const topic = this.name!;
      try {
        const held = await channelStub(this.env, topic, channel).push(kept, this.counts());
        this.held.set(channel, held);
      } catch (e) {
        console.error(`topic ${topic}: channel ${channel} did not take a redrive: ${e}`);
        this.store.appendOutbox(channel, kept, this.counts());
        await this.scheduleRetry();
      }
      this.reported = this.counts();
    }
    this.recordAdmission(keys, duplicates, 0);
    return null;
  }

  /** Stamps ids (in publish order) and the publish time into the segments, and counts them. */
  private assign(segments: Uint8Array[]) {
    const now = Date.now();
    let count = 0;
    for (const s of segments) count += segmentCount(s);
    let id = this.ids.take(count);
    for (const s of segments) {
      this.messageBytes += stampSegment(s, id, now, this.ids.stride);
      id += segmentCount(s) * this.ids.stride;
    }
    this.messageCount += count;
  }

  private async deliver(segments: Uint8Array[]): Promise<void> {
    // The same segments go to every channel, or into the backlog.
    if (this.paused || this.channels.size === 0 || this.backlogCount > 0) {
      // Keep order: while a backlog exists, new messages queue behind it.
      this.backlogCount += this.store.appendBacklog(segments, this.counts());
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
      if (r.status === "fulfilled") this.held.set(names[i], r.value);
      // A channel deleted meanwhile needs no copy.
      if (r.status === "rejected" && this.channels.has(names[i])) {
        console.error(`topic ${topic}: channel ${names[i]} did not take ${segments.length} segments: ${r.reason}`);
        this.store.appendOutbox(names[i], segments, this.counts());
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
        const read = this.store.readBacklog();
        if (read.segments.length === 0) break;
        await this.fanOut(read.segments);
        this.store.dropBacklog(read.lastId);
        this.backlogCount -= read.count;
      }
    } finally {
      this.draining = false;
    }
  }

  /** Retries the outbox and resumes an interrupted drain. */
  override async alarm() {
    this.requests++;
    if (this.name === null) return;
    const topic = this.name;
    let failed = false;
    for (const channel of this.store.outboxChannels()) {
      if (!this.channels.has(channel)) {
        this.store.dropOutbox(channel);
        continue;
      }
      for (;;) {
        const read = this.store.readOutbox(channel);
        if (read.segments.length === 0) break;
        try {
          await channelStub(this.env, topic, channel).push(read.segments, this.counts());
        } catch (e) {
          console.error(`topic ${topic}: retry to channel ${channel} failed: ${e}`);
          failed = true;
          break;
        }
        this.store.dropOutbox(channel, read.lastId);
      }
    }
    if (this.backlogCount > 0 && !this.paused && this.channels.size > 0) await this.drain();
    if (this.topic.first && this.shardLimit > this.shards && (await this.dropDrainedShards())) failed = true;
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
      await channelStub(this.env, topic, channel).init(topic, channel, generation, this.settingsNow.msg_ttl);
      if (known === undefined) {
        this.store.addChannel(channel, generation);
        this.channels.set(channel, generation);
        if (this.topic.first) await registryStub(this.env).addChannel(this.topic.name, channel);
      }
      if (first && this.backlogCount > 0 && !this.paused) void this.drain();
    });
  }

  hasChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  // ---- settings (src/settings.ts) --------------------------------------------------------

  settings(): TopicSettings | null {
    return this.name === null ? null : this.settingsNow;
  }

  /** New topic settings; its msg_ttl goes to every channel. False when there is no such topic. */
  configure(settings: TopicSettings): Promise<boolean> {
    return this.locked(async () => {
      if (this.name === null) return false;
      this.settingsNow = settings;
      this.store.setSettings(settings);
      const topic = this.name;
      await Promise.all([...this.channels.keys()].map((ch) => channelStub(this.env, topic, ch).setTopicTtl(settings.msg_ttl)));
      return true;
    });
  }

  /** A channel's new settings: to the channel, and its bound (under reject) kept here. */
  configureChannel(channel: string, settings: ChannelSettings): Promise<boolean> {
    return this.locked(async () => {
      if (!this.channels.has(channel)) return false;
      await channelStub(this.env, this.name!, channel).configure(settings);
      const reject = settings.overflow === "reject";
      const depth = reject ? settings.max_depth : 0;
      const bytes = reject ? settings.max_bytes : 0;
      this.store.setBound(channel, depth, bytes);
      this.bounds = this.bounds.filter((b) => b.channel !== channel);
      if (depth > 0 || bytes > 0) this.bounds.push({ channel, maxDepth: depth, maxBytes: bytes });
      this.held.delete(channel);
      return true;
    });
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
    this.store.saveCounts(this.counts());
    this.channels.delete(channel);
    this.store.removeChannel(channel);
    this.bounds = this.bounds.filter((b) => b.channel !== channel);
    this.held.delete(channel);
    if (this.topic.first) await registryStub(this.env).removeChannel(this.topic.name, channel);
  }

  /** nsqd deletes an ephemeral topic with its last channel. */
  private async removeIfEphemeralAndEmpty() {
    if (this.name !== null && isEphemeral(this.topic.name) && this.channels.size === 0) await this.destroyTopic();
  }

  // ---- topic administration --------------------------------------------------------------

  /**
   * Deletes the topic, its channels and every message; false when it does not exist. `code`:
   * the close code of the channels' links (a drained shard's: SHARD_DRAINED).
   */
  delete(code = 1000): Promise<boolean> {
    return this.locked(async () => {
      if (this.name === null) return false;
      const topic = this.name;
      await Promise.all([...this.channels.keys()].map((ch) => channelStub(this.env, topic, ch).destroy(code)));
      await this.destroyTopic();
      return true;
    });
  }

  private async destroyTopic() {
    const { name: topic, first } = this.topic;
    if (first) {
      for (const ch of this.channels.keys()) await registryStub(this.env).removeChannel(topic, ch);
      await registryStub(this.env).removeTopic(topic);
    }
    this.publishes.rejectPending(new Error("exiting"));
    await this.ctx.storage.deleteAlarm();
    await this.store.deleteAll();
    this.load();
  }

  /** Drops the messages the topic holds itself (not its channels'), as nsqd's topic empty. */
  empty(): boolean {
    if (this.name === null) return false;
    this.store.clearBacklog();
    this.backlogCount = 0;
    return true;
  }

  setPaused(paused: boolean): boolean {
    if (this.name === null) return false;
    this.paused = paused;
    this.store.setPaused(paused);
    if (!paused && this.backlogCount > 0 && this.channels.size > 0) void this.drain();
    return true;
  }

  private channelNames(): string[] {
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
    // nsqd's topic latency: its channels' merged (AggregateChannelE2eProcessingLatency).
    const percentiles = config(this.env).e2ePercentiles;
    const histogram = percentiles.length > 0 ? mergeHistograms(channels.map((c) => c.e2e_histogram)) : undefined;
    return {
      topic_name: topic,
      channels,
      depth: this.backlogCount,
      backend_depth: this.backlogCount,
      message_count: this.reported.count,
      message_bytes: this.reported.bytes,
      paused: this.paused,
      e2e_processing_latency: latencyOf(histogram ?? [], percentiles),
      ...(histogram ? { e2e_histogram: histogram } : {}),
      requests: this.requests,
      duplicate_count: this.duplicateCount,
      rejected_count: this.rejectedCount,
      config: showTopicSettings(this.settingsNow),
    };
  }
}
