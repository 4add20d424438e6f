// How the Worker and the objects find each other: one object per topic, one per topic+channel,
// one registry. ("/" cannot appear in a name, so "topic/channel" is unambiguous.)
import type { Env } from "./config";
import type { Publish, PublishAnswer, PublishUnit } from "./objects";
import { PublishRelay } from "./publish-relay";
import { packPublishes } from "./segment";
import { packUnits } from "./publish-units";
import { NOT_A_SHARD, shardName, shardOfKey } from "./topic/shards";

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

const relay = new PublishRelay<Publish, string>({
  maxCount: RELAY_MAX_MESSAGES,
  maxBytes: RELAY_MAX_BYTES,
  count: (p) => p.bodies.length,
  bytes: (p) => {
    let n = 0;
    for (const b of p.bodies) n += b.length;
    return n;
  },
});

/** Shard counts as shard 0 last said, for a short while (a count that changed is refused by the shard it names: see onShard). */
const shardCounts = new Map<string, { n: number; until: number }>();
const SHARD_COUNT_TTL_MS = 2000;

/**
 * A topic's shard count (src/topic/shards.ts), from its shard 0, remembered for a moment: the
 * shards publishes go to, or (`existing`) every shard object, those draining away included,
 * which consumers link to. A remembered count comes back at once (publishes ask on every call).
 */
export function shardsOf(env: Env, topic: string, existing = false): number | Promise<number> {
  const key = existing ? `*${topic}` : topic;
  const hit = shardCounts.get(key);
  if (hit && hit.until > Date.now()) return hit.n;
  const stub = topicStub(env, topic);
  return (existing ? stub.shardsAllowed() : stub.shardCount()).then((n) => {
    if (shardCounts.size >= MAX_IDS) shardCounts.clear();
    shardCounts.set(key, { n, until: Date.now() + SHARD_COUNT_TTL_MS });
    return n;
  });
}

/** What this isolate just learnt (or made) a topic's shard count to be. */
export function knownShards(topic: string, n: number, existing = n) {
  if (shardCounts.size >= MAX_IDS) shardCounts.clear();
  const until = Date.now() + SHARD_COUNT_TTL_MS;
  shardCounts.set(topic, { n, until });
  shardCounts.set(`*${topic}`, { n: existing, until });
}

let spreadTurn = 0;

/** The shard object a publish goes to: a key's by consistent hash, else the next in turn. */
function shardFor(env: Env, topic: string, key?: string): string | Promise<string> {
  const pick = (n: number) => (n === 1 ? topic : shardName(topic, key !== undefined ? shardOfKey(key, n) : spreadTurn++ % n));
  const n = shardsOf(env, topic);
  return typeof n === "number" ? pick(n) : n.then(pick);
}

/**
 * Publishes through the topic's object (or, sharded, one shard's), sharing its RPC with the
 * publishes this isolate has for it meanwhile (src/publish-relay.ts). `waitUntil` is the calling
 * request's: the RPC it may send for others must outlive the caller's client going away.
 * Resolves with null once stored (or a duplicate of one stored), or the code it was refused
 * with (QUEUE_FULL). Without a shard key, an idempotency key picks the shard: a repeat meets it.
 */
export function publishToTopic(env: Env, waitUntil: (p: Promise<unknown>) => void, topic: string, publish: Publish, key?: string): Promise<string | null> {
  return onShard(env, topic, key ?? publish.key, (shard) =>
    relay.add(shard, publish, {
      send: (group) => topicStub(env, shard).publish(shard, packPublishes(group), { units: packUnits(unitsOf(group)) }),
      waitUntil,
    }),
  );
}

/** The publishes of a group, as the topic's admission counts them (src/topic/admission.ts). */
export const unitsOf = (group: readonly Publish[]): PublishUnit[] =>
  group.map((p) => (p.key === undefined ? { n: p.bodies.length } : { n: p.bodies.length, key: p.key }));

/**
 * Runs `send` on the shard a publish goes to; if that shard is gone (the count here was stale:
 * the topic was deleted or re-created with fewer), asks shard 0 again and retries once.
 */
export async function onShard<T>(env: Env, topic: string, key: string | undefined, send: (shard: string) => Promise<T>): Promise<T> {
  const picked = shardFor(env, topic, key);
  const shard = typeof picked === "string" ? picked : await picked;
  try {
    return await send(shard);
  } catch (e) {
    if (shard === topic || !String(e).includes(NOT_A_SHARD)) throw e;
    forgetShards(topic);
    return send(await shardFor(env, topic, key));
  }
}

/** The isolate forgets a topic's shard count (it was deleted). */
export function forgetShards(topic: string) {
  shardCounts.delete(topic);
  shardCounts.delete(`*${topic}`);
}

/**
 * A V2 session's publish RPC (src/v2/publishing.ts's group): to the shard its shard key picks;
 * on a sharded topic, publishes with idempotency keys (and no shard key) go to their keys'
 * shards instead, so that a repeat meets its key where it was stored. Answers per publish.
 */
export async function publishGroup(env: Env, topic: string, bodies: Uint8Array[], deferMs: number, shardKey: string | undefined, units: PublishUnit[]): Promise<PublishAnswer> {
  const send = (key: string | undefined, b: Uint8Array[], u: PublishUnit[]) =>
    onShard(env, topic, key, (shard) => topicStub(env, shard).publish(shard, packPublishes([{ bodies: b, deferMs }]), { units: packUnits(u) }));
  if (shardKey !== undefined || !units.some((u) => u.key !== undefined)) return send(shardKey, bodies, units);
  const n = await shardsOf(env, topic);
  if (n === 1) return send(undefined, bodies, units);
  // Split by shard: a key's publishes go with its shard's, the unkeyed together.
  const parts = new Map<number, { key?: string; bodies: Uint8Array[]; units: PublishUnit[]; at: number[] }>();
  let at = 0;
  units.forEach((u, i) => {
    const shard = u.key === undefined ? -1 : shardOfKey(u.key, n);
    let part = parts.get(shard);
    if (!part) parts.set(shard, (part = { key: u.key, bodies: [], units: [], at: [] }));
    for (let j = at; j < at + u.n; j++) part.bodies.push(bodies[j]!);
    part.units.push(u);
    part.at.push(i);
    at += u.n;
  });
  const answers: (string | null)[] = units.map(() => null);
  await Promise.all(
    [...parts.values()].map(async (p) => {
      const answer = await send(p.key, p.bodies, p.units);
      p.at.forEach((i, k) => (answers[i] = answer?.[k] ?? null));
    }),
  );
  return answers.some((a) => a !== null) ? answers : null;
}
