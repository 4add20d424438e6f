// Which publishes of a group the topic stores: a publish repeating an idempotency key (or, with
// dedup_content, the bodies) seen within the dedup window is answered OK and stored no more
// (DUPLICATE), and one that would take a channel with overflow reject past its max_depth or
// max_bytes is refused, stored nowhere (QUEUE_FULL). Decided in publish order, so under
// concurrent publishers a bound admits exactly as many as fit.
//
// Pure: what channels hold and which keys were seen come in; the topic keeps them.

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
