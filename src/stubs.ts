// How the Worker and the objects find each other: one object per topic, one per topic+channel,
// one registry. ("/" cannot appear in a name, so "topic/channel" is unambiguous.)
import type { Env } from "./config";
import type { Publish } from "./objects";
import { PublishRelay } from "./publish-relay";
import { packPublishes } from "./segment";

// idFromName hashes the name on every call; publishes and fan-outs ask for the same few ids
// thousands of times a second. Ids are plain values (stubs are not: they belong to the request
// that made them), so they are remembered, a bounded number.
const ids = new Map<string, DurableObjectId>();
const MAX_IDS = 10_000;

function idFor(ns: { idFromName(name: string): DurableObjectId }, key: string, name: string): DurableObjectId {
  let id = ids.get(key);
  if (!id) {
    if (ids.size >= MAX_IDS) ids.clear();
    id = ns.idFromName(name);
    ids.set(key, id);
  }
  return id;
}

export const topicStub = (env: Env, topic: string) => env.TOPIC.get(idFor(env.TOPIC, `t:${topic}`, topic));

export const channelStub = (env: Env, topic: string, channel: string) =>
  env.CHANNEL.get(idFor(env.CHANNEL, `c:${topic}/${channel}`, `${topic}/${channel}`));

export const registryStub = (env: Env) => env.REGISTRY.get(env.REGISTRY.idFromName("registry"));

/** A relayed group carries at most this much (an RPC's size is bounded). */
const RELAY_MAX_BYTES = 4 * 1024 * 1024;
const RELAY_MAX_MESSAGES = 5000;

const relay = new PublishRelay<Publish>({
  maxCount: RELAY_MAX_MESSAGES,
  maxBytes: RELAY_MAX_BYTES,
  count: (p) => p.bodies.length,
  bytes: (p) => {
    let n = 0;
    for (const b of p.bodies) n += b.length;
    return n;
  },
});

/**
 * Publishes through the topic object, sharing its RPC with the publishes this isolate has for
 * the topic meanwhile (src/publish-relay.ts). `waitUntil` is the calling request's: the RPC it
 * may send for others must outlive the caller's client going away.
 */
export function publishToTopic(env: Env, waitUntil: (p: Promise<unknown>) => void, topic: string, publish: Publish): Promise<void> {
  return relay.add(topic, publish, {
    send: (group) => topicStub(env, topic).publish(topic, packPublishes(group)),
    waitUntil,
  });
}
