import { describe, expect, it } from "vitest";
import { bucketOf, LatencyWindow, latencyOf, mergeHistograms, valueOf } from "./latency";

describe("buckets", () => {
  it("stand for their values within 1%", () => {
    for (const ns of [2_000, 1e6, 3.7e6, 1e9, 42e9, 3600e9]) expect(Math.abs(valueOf(bucketOf(ns)) - ns) / ns).toBeLessThan(0.01);
  });
});

describe("LatencyWindow", () => {
  it("answers nsqd's percentiles of publish-to-FIN times (ns), within 1%", () => {
    const w = new LatencyWindow(600_000, 0);
    // 1..100 ms latencies, FINished at t = 10 s.
    for (let ms = 1; ms <= 100; ms++) w.insert(10_000 - ms, 10_000);
    const r = latencyOf(w.histogram(10_000), [1.0, 0.99, 0.5]);
    expect(r.count).toBe(100);
    const [max, p99, p50] = r.percentiles!.map((p) => p.value / 1e6);
    expect(Math.abs(max! - 100) / 100).toBeLessThan(0.01);
    expect(Math.abs(p99! - 99) / 99).toBeLessThan(0.01);
    expect(Math.abs(p50! - 50) / 50).toBeLessThan(0.01);
    expect(r.percentiles!.map((p) => p.quantile)).toEqual([1.0, 0.99, 0.5]);
  });

  it("keeps between half a window and a window of history, as nsqd's two streams", () => {
    const w = new LatencyWindow(1000, 0);
    w.insert(0, 100); // in the first half
    w.insert(0, 600); // the second half (rolled at 500)
    expect(latencyOf(w.histogram(900), [1]).count).toBe(2);
    // At 1001 the first half is cleared and current again: only the second's sample is left.
    expect(latencyOf(w.histogram(1001), [1]).count).toBe(1);
    expect(latencyOf(w.histogram(1600), [1]).count).toBe(0);
    // A gap longer than the window: nothing.
    w.insert(5000, 5001);
    expect(latencyOf(w.histogram(9000), [1]).count).toBe(0);
  });

  it("merges by adding (a topic over its channels); no percentiles: nsqd's empty result", () => {
    const a = new LatencyWindow(600_000, 0);
    const b = new LatencyWindow(600_000, 0);
    for (let i = 0; i < 90; i++) a.insert(0, 10);
    for (let i = 0; i < 10; i++) b.insert(0, 1000);
    const r = latencyOf(mergeHistograms([a.histogram(1000), b.histogram(1000), undefined]), [0.5, 0.95]);
    expect(r.count).toBe(100);
    const near = (ns: number, ms: number) => expect(Math.abs(ns / 1e6 - ms) / ms).toBeLessThan(0.01);
    near(r.percentiles![0]!.value, 10);
    near(r.percentiles![1]!.value, 1000);
    expect(latencyOf([], [])).toEqual({ count: 0, percentiles: null });
    expect(latencyOf([], [0.99])).toEqual({ count: 0, percentiles: [{ quantile: 0.99, value: 0 }] });
  });
});
