// What the Worker and the objects call on each other: the RPC methods of each Durable Object
// class, declared here so that src/ types its namespaces (src/config.ts's Env) without importing
// durable-objects/ (which imports src/). Only what is called through a stub is here. A class
// declares `implements` its interface, so the checker keeps the two in step.
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
  publish(topic: string, segments: Uint8Array[]): Promise<void>;
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
  init(topic: string, channel: string, generation: number): void;
  destroy(code?: number): Promise<void>;
  destroyIfIdle(generation: number): Promise<boolean>;
  push(segments: Uint8Array[], topic?: MessageCounts): void;
  empty(): boolean;
  setPaused(paused: boolean): boolean;
  topicCounts(): MessageCounts;
  stats(includeClients?: boolean): ChannelStats | null;
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
