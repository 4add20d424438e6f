// Which publishes of a group the topic stores: a publish repeating an idempotency key (or, with
// dedup_content, the bodies) seen within the dedup window is answered OK and stored no more
// (DUPLICATE), and one that would take a channel with overflow reject past its max_depth or
// max_bytes is refused, stored nowhere (QUEUE_FULL). Decided in publish order, so under
// concurrent publishers a bound admits exactly as many as fit.
//
// Pure: what channels hold and which keys were seen come in; the topic keeps them.
import type { MessageBatch } from "../message";
import { packSegments, unpackSegment } from "../segment";

/** One publish within a publish RPC: its messages and their bytes, and its dedup key if any. */
export interface Unit {
  n: number;
  bytes: number;
  key?: string;
}

export interface Bound {
  channel: string;
  maxDepth: number;
  maxBytes: number;
}

/** What a channel holds, as it last told (plus what the topic sent it since). */
export interface Held {
  count: number;
  bytes: number;
}

export const DUPLICATE = "DUPLICATE";
export const QUEUE_FULL = "QUEUE_FULL";
export type Verdict = null | typeof DUPLICATE | typeof QUEUE_FULL;

export interface AdmissionInput {
  units: Unit[];
  bounds: Bound[];
  /** What each bounded channel holds; missing: nothing. */
  held: ReadonlyMap<string, Held>;
  /** Messages (and bytes) the topic holds for every channel (its backlog): they count against each bound. */
  pending: Held;
  /** Whether a key was stored within the window (keys of this group are checked here too). */
  seen(key: string): boolean;
}

/** A verdict per unit (null: store it). */
export function admit({ units, bounds, held, pending, seen }: AdmissionInput): Verdict[] {
  const keys = new Set<string>();
  let count = 0;
  let bytes = 0;
  return units.map((u): Verdict => {
    if (u.key !== undefined) {
      if (keys.has(u.key) || seen(u.key)) return DUPLICATE;
    }
    for (const b of bounds) {
      const h = held.get(b.channel) ?? { count: 0, bytes: 0 };
      if (b.maxDepth > 0 && h.count + pending.count + count + u.n > b.maxDepth) return QUEUE_FULL;
      if (b.maxBytes > 0 && h.bytes + pending.bytes + bytes + u.bytes > b.maxBytes) return QUEUE_FULL;
    }
    if (u.key !== undefined) keys.add(u.key);
    count += u.n;
    bytes += u.bytes;
    return null;
  });
}

/** A publish RPC's messages, in order, ids and times still zero (as the publisher packed them). */
export function messagesOf(segments: readonly Uint8Array[]): MessageBatch {
  const all: MessageBatch = { ids: [], ts: [], bodies: [], defers: [], metas: [] };
  for (const buf of segments) {
    const seg = unpackSegment(buf);
    for (let j = 0; j < seg.count; j++) {
      all.ids.push(0);
      all.ts.push(0);
      all.bodies.push(seg.bodies[j]!);
      all.defers!.push(seg.defers[j]!);
      all.metas!.push(seg.metas?.[j] ?? null);
    }
  }
  return all;
}

/**
 * The segments of the admitted units only: `items` are each RPC's messages and its units' sizes
 * (in order), `verdicts` one per unit over all of them.
 */
export function repack(items: readonly { messages: MessageBatch; units: readonly number[] }[], verdicts: readonly Verdict[]): Uint8Array[] {
  const kept: MessageBatch = { ids: [], ts: [], bodies: [], defers: [], metas: [] };
  let k = 0;
  for (const { messages, units } of items) {
    let at = 0;
    for (const n of units) {
      if (verdicts[k++] === null) {
        for (let j = at; j < at + n; j++) {
          kept.ids.push(0);
          kept.ts.push(0);
          kept.bodies.push(messages.bodies[j]!);
          kept.defers!.push(messages.defers![j]!);
          kept.metas!.push(messages.metas![j]!);
        }
      }
      at += n;
    }
  }
  if (!kept.defers!.some((d) => d > 0)) delete kept.defers;
  if (!kept.metas!.some((m) => m !== null)) delete kept.metas;
  return kept.ids.length > 0 ? packSegments(kept) : [];
}
