// How the Worker and the objects find each other: one object per topic, one per topic+channel,
// one registry. ("/" cannot appear in a name, so "topic/channel" is unambiguous.)
import type { Env } from "./config";

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
