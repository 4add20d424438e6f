// End-to-end processing latency as nsqd measures it (internal/quantile): from a message's
// publish to its FIN, over a moving window. As nsqd, two halves of window/2 each: inserts go to
// the current one; once it is window/2 old the other is cleared and becomes current; a query
// covers both (so between window/2 and window of history).
//
// nsqd keeps targeted-quantile streams; here each half is a histogram of buckets 2% wide on a log
// scale: histograms merge by adding counts (a topic's latency is its channels', a sharded
// topic's its shards'), and a quantile read from one is within 1% of the sample's value.
// Pure: the clock comes in.
import type { Latency } from "../stats";

/** Bucket b holds latencies in [MIN_NS·GROWTH^b, MIN_NS·GROWTH^(b+1)); below MIN_NS is bucket 0. */
const GROWTH = 1.02;
const MIN_NS = 1000;
const LOG_GROWTH = Math.log(GROWTH);

/** A histogram as it travels in /stats' RPCs: [bucket, count] pairs. */
export type Histogram = number[][];

export const bucketOf = (ns: number) => (ns <= MIN_NS ? 0 : Math.floor(Math.log(ns / MIN_NS) / LOG_GROWTH));
/** The value a bucket stands for: its geometric middle (within 1% of anything in it). */
export const valueOf = (bucket: number) => MIN_NS * GROWTH ** (bucket + 0.5);

export class LatencyWindow {
  private halves = [new Map<number, number>(), new Map<number, number>()];
  private current = 0;
  private movedAt: number;
  private readonly half: number;

  constructor(windowMs: number, now: number) {
    this.half = windowMs / 2;
    this.movedAt = now;
  }

  /** A message published at `publishedMs` was FINished at `now`. */
  insert(publishedMs: number, now: number) {
    this.roll(now);
    const b = bucketOf(Math.max(0, now - publishedMs) * 1e6);
    const h = this.halves[this.current]!;
    h.set(b, (h.get(b) ?? 0) + 1);
  }

  /** Both halves' counts, as of `now`. */
  histogram(now: number): Histogram {
    this.roll(now);
    const all = new Map(this.halves[0]);
    for (const [b, n] of this.halves[1]!) all.set(b, (all.get(b) ?? 0) + n);
    return [...all];
  }

  private roll(now: number) {
    // A gap of a whole window or more: nothing left in it.
    if (now - this.movedAt >= 2 * this.half) {
      this.halves[0]!.clear();
      this.halves[1]!.clear();
      this.movedAt = now;
      return;
    }
    while (now - this.movedAt > this.half) {
      this.current ^= 1;
      this.halves[this.current]!.clear();
      this.movedAt += this.half;
    }
  }
}

/** Histograms added up. */
export function mergeHistograms(hs: readonly (Histogram | undefined)[]): Histogram {
  const all = new Map<number, number>();
  for (const h of hs) for (const [b, n] of h ?? []) all.set(b, (all.get(b) ?? 0) + n);
  return [...all];
}

/** nsqd's quantile.Result: the count and, per percentile, the value (ns); none configured: null. */
export function latencyOf(h: Histogram, percentiles: readonly number[]): Latency {
  if (percentiles.length === 0) return { count: 0, percentiles: null };
  const sorted = [...h].sort((a, b) => a[0] - b[0]);
  const count = sorted.reduce((n, [, c]) => n + c, 0);
  return {
    count,
    percentiles: percentiles.map((quantile) => {
      if (count === 0) return { quantile, value: 0 };
      // The sample at rank ceil(q·count) (q = 1: the largest).
      const rank = Math.max(1, Math.ceil(quantile * count));
      let seen = 0;
      for (const [b, c] of sorted) {
        seen += c;
        if (seen >= rank) return { quantile, value: Math.round(valueOf(b)) };
      }
      return { quantile, value: Math.round(valueOf(sorted[sorted.length - 1]![0])) };
    }),
  };
}
