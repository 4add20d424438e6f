// A topic's shards: N topic objects that together are one topic, each with its own channel
// objects (as nsqd runs one copy of a topic per node). Shard 0 is the topic's own object, under
// the topic's name, so an unsharded topic is exactly what it always was; shard i > 0 is the
// object named "topic/i" ("/" cannot appear in a topic name, so no topic is mistaken for a shard).
//
// Ids stay unique across shards: a sharded topic's shard i hands out ids ≡ i (mod MAX_SHARDS),
// so the shard a message came from is its id modulo MAX_SHARDS (how a V2 session routes a FIN).
// A key picks its shard by jump consistent hashing (Lamping and Veach, 2014): all messages of a
// key go to one shard, and adding shards moves only the keys the new ones take.

/** The most shards a topic may have (and the id stride of a sharded topic). */
export const MAX_SHARDS = 64;

/** The object name of shard `index` of `topic`. */
export const shardName = (topic: string, index: number) => (index === 0 ? topic : `${topic}/${index}`);

/** The topic and shard index of a topic object's name. */
export function shardOf(name: string): { topic: string; index: number } {
  const slash = name.lastIndexOf("/");
  if (slash < 0) return { topic: name, index: 0 };
  return { topic: name.slice(0, slash), index: Number(name.slice(slash + 1)) };
}

/** The close code of a drained shard's links: its sessions drop that link and keep the rest. */
export const SHARD_DRAINED = 4001;

/** What a shard object answers when its topic has fewer shards (deleted, or re-created). */
export const NOT_A_SHARD = "not a shard of its topic";

/** The shard of a sharded topic a message id belongs to. */
export const shardOfId = (id: number) => id % MAX_SHARDS;

/** A shard count from a query parameter: an integer 1..MAX_SHARDS, else null. */
export function parseShards(text: string): number | null {
  if (!/^\d{1,3}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_SHARDS ? n : null;
}

const MASK64 = (1n << 64n) - 1n;

/** FNV-1a, 64 bits, of the key's UTF-8 bytes. */
function fnv1a64(key: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(key)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

/** The shard (0..n-1) of `key` among `n`: jump consistent hash of its 64-bit FNV-1a. */
export function shardOfKey(key: string, n: number): number {
  let k = fnv1a64(key);
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    j = Math.floor(((b + 1) * 2 ** 31) / (Number(k >> 33n) + 1));
  }
  return b;
}
