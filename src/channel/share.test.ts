import { describe, expect, it } from "vitest";
import { FairShare } from "./share";

/** One pump: the shares of consumers with these spares (0: not ready) for n messages. */
function pump(share: FairShare, spares: number[], n: number): number[] {
  share.begin();
  const ready: number[] = [];
  spares.forEach((spare, i) => {
    if (spare > 0) {
      share.add(spare, i + 1);
      ready.push(i);
    }
  });
  const got = spares.map(() => 0);
  const take = Math.min(n, share.capacity);
  if (take === 0) return got;
  share.plan(take);
  let at = 0;
  for (let k = 0; k < share.count && at < take; k++) {
    const i = share.at(k);
    const s = share.of(i);
    got[ready[i]] = s;
    at += s;
  }
  return got;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A small deterministic generator (tests take no Math.random either). */
function numbers(seed: number) {
  let x = seed;
  return (below: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % below;
  };
}

describe("the fair share", () => {
  it("rotates exactly when every pump finds equal spares: each gets floor(N/K) or ceil(N/K)", () => {
    for (const [k, spare, batch] of [[3, 1, 1], [3, 5, 2], [4, 10, 7], [5, 3, 13]]) {
      const share = new FairShare();
      const total = Array(k).fill(0);
      let sent = 0;
      for (let p = 0; p < 50; p++) {
        // Everyone finished the last batch: equal spares again.
        const got = pump(share, Array(k).fill(spare), batch);
        expect(sum(got)).toBe(Math.min(batch, k * spare));
        got.forEach((g, i) => (total[i] += g));
        sent += sum(got);
        const least = Math.min(...total);
        expect(Math.max(...total) - least).toBeLessThanOrEqual(1);
        expect(least).toBe(Math.floor(sent / k));
      }
    }
  });

  it("serves one message at a time round robin", () => {
    const share = new FairShare();
    const order: number[] = [];
    for (let p = 0; p < 9; p++) order.push(pump(share, [1, 1, 1], 1).indexOf(1));
    expect(order).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });

  it("places every message it is given, never above a consumer's spare", () => {
    const rand = numbers(7);
    const share = new FairShare();
    for (let p = 0; p < 2000; p++) {
      const spares = Array.from({ length: 1 + rand(8) }, () => rand(6));
      const capacity = sum(spares);
      const n = rand(capacity + 3);
      const got = pump(share, spares, n);
      expect(sum(got)).toBe(Math.min(n, capacity));
      got.forEach((g, i) => expect(g).toBeLessThanOrEqual(spares[i]));
      // Water-filling: no consumer gets two more than another that still had room.
      got.forEach((g, i) => got.forEach((h, j) => {
        if (spares[j] > h) expect(g).toBeLessThanOrEqual(h + 1);
      }));
    }
  });

  it("with different spares, serves nobody twice while another with spare waits", () => {
    const rand = numbers(11);
    for (let round = 0; round < 50; round++) {
      const k = 2 + rand(5);
      const share = new FairShare();
      const spares = Array.from({ length: k }, () => 1 + rand(6));
      // waits[c][d]: pumps that served d since c (with spare all along) was last served.
      const waits = spares.map(() => spares.map(() => 0));
      for (let p = 0; p < 100; p++) {
        const got = pump(share, spares, 1 + rand(3));
        for (let c = 0; c < k; c++) {
          if (spares[c] === 0 || got[c] > 0) waits[c].fill(0);
          else for (let d = 0; d < k; d++) if (got[d] > 0) expect(++waits[c][d]).toBeLessThanOrEqual(1);
        }
        // Consumers take what they got; now and then one finishes everything.
        got.forEach((g, i) => (spares[i] -= g));
        const i = rand(k);
        if (rand(2) === 0) spares[i] = 1 + rand(6);
      }
    }
  });
});
