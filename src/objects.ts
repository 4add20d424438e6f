// What the Worker and the objects call on each other: the RPC methods of each Durable Object
// class, declared here so that src/ types its namespaces (src/config.ts's Env) without importing
// durable-objects/ (which imports src/). Only what is called through a stub is here. A class
// declares `implements` its interface, so the checker keeps the two in step.
import type { ChannelSettings, TopicSettings } from "./settings";
import type { ChannelStats, TopicStats } from "./stats";

/** A topic's count of messages and their bytes, as /stats reports them. */
export interface MessageCounts {
  count: number;
  bytes: number;
}

/** One publish (PUB, MPUB, DPUB, /pub, /mpub): its messages and their delay. */
export interface Publish {
  bodies: Uint8Array[];
  deferMs: number;
  /** Its idempotency key (src/topic/admission.ts). */
  key?: string;
}

/** One publish of a publish RPC's segments: its messages (in order) and idempotency key. */
export interface PublishUnit {
  n: number;
  key?: string;
}

/** PublishUnits as an RPC carries them (src/publish-units.ts). */
export interface PublishUnits {
  sizes: Uint32Array;
  keys?: (string | null)[];
}

/** The longest idempotency key a publish may carry (HTTP's Idempotency-Key, V2's key parameter). */
export const MAX_IDEMPOTENCY_KEY = 256;

export interface PublishOptions {
  /** The publishes the segments hold, in order (absent: one, of every message). */
  units?: PublishUnits;
  /** Only this channel gets the messages (a redrive back to the channel they came from). */
  channel?: string;
  /** A dead letter or a redrive: keys are kept a day even without a dedup window. */
  system?: boolean;
}

/** Per publish, null (stored, or a duplicate of one stored) or the code it was refused with; null: all stored. */
export type PublishAnswer = (string | null)[] | null;

/** What a channel holds (what max_depth and max_bytes bound). */
export interface Held {
  count: number;
  bytes: number;
}

/** A queued message as a channel's peek gives it (`due` > 0: deferred until then). */
export interface PeekedMessage {
  id: number;
  ts: number;
  attempts: number;
  body: Uint8Array;
  meta: string | null;
  due: number;
}

/** durable-objects/topic.ts: one per topic. */
export interface TopicRpc extends Rpc.DurableObjectBranded {
  exists(): boolean;
  create(topic: string, shards?: number, idFloor?: number): Promise<void>;
  shardCount(): number;
  shardsAllowed(): number;
  prepareShards(n: number): number;
  addShards(n: number): void;
  shrinkShards(n: number): Promise<void>;
  drained(): Promise<boolean>;
  /** Segments packed by src/segment.ts's packPublishes: resolves once every message is durable. */
  publish(topic: string, segments: Uint8Array[], options?: PublishOptions): Promise<PublishAnswer>;
  settings(): TopicSettings | null;
  configure(settings: TopicSettings): Promise<boolean>;
  configureChannel(channel: string, settings: ChannelSettings): Promise<boolean>;
  createChannel(topic: string, channel: string): Promise<void>;
  hasChannel(channel: string): boolean;
  deleteChannel(channel: string): Promise<boolean>;
  channelIdle(channel: string, generation: number): Promise<void>;
  delete(code?: number): Promise<boolean>;
  empty(): boolean;
  setPaused(paused: boolean): boolean;
  stats(channel?: string, includeClients?: boolean): Promise<TopicStats | null>;
}

/** durable-objects/channel.ts: one per topic and channel (consumers connect with fetch). */
export interface ChannelRpc extends Rpc.DurableObjectBranded {
  init(topic: string, channel: string, generation: number, topicTtl?: number): void;
  destroy(code?: number): Promise<void>;
  destroyIfIdle(generation: number): Promise<boolean>;
  push(segments: Uint8Array[], topic?: MessageCounts): Held;
  held(): Held;
  settings(): ChannelSettings | null;
  configure(settings: ChannelSettings): void;
  setTopicTtl(ms: number): void;
  peek(n: number): PeekedMessage[];
  /** Messages published at or after `t` (ms; null: now) ready again, those before done; -1: no such channel. */
  seek(t: number | null): number;
  /** Starts (rate > 0) or stops (0) moving this channel's dead letters back where they came from. */
  redrive(rate: number, to: "channel" | "topic"): RedriveState | null;
  empty(): boolean;
  setPaused(paused: boolean): boolean;
  topicCounts(): MessageCounts;
  stats(includeClients?: boolean): ChannelStats | null;
}

/** A redrive under way (or the last one), as /stats shows it. */
export interface RedriveState {
  rate: number;
  to: "channel" | "topic";
  moved: number;
  running: boolean;
  error: string;
}

/** durable-objects/registry.ts: the one lookup registry. */
export interface RegistryRpc extends Rpc.DurableObjectBranded {
  addTopic(topic: string): void;
  removeTopic(topic: string): void;
  addChannel(topic: string, channel: string): void;
  removeChannel(topic: string, channel: string): void;
  topics(): string[];
  hasTopic(topic: string): boolean;
  channels(topic: string): string[];
}
