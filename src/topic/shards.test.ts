import { describe, expect, it } from "vitest";
import { MAX_SHARDS, parseShards, shardName, shardOf, shardOfId, shardOfKey } from "./shards";

describe("shards", () => {
  it("names shard 0 as the topic itself and the others topic/i, and reads them back", () => {
    expect(shardName("orders", 0)).toBe("orders");
    expect(shardName("orders", 3)).toBe("orders/3");
    expect(shardOf("orders")).toEqual({ topic: "orders", index: 0 });
    expect(shardOf("orders/3")).toEqual({ topic: "orders", index: 3 });
    expect(shardOf("t#ephemeral/2")).toEqual({ topic: "t#ephemeral", index: 2 });
  });

  it("a key always lands on the same shard, and keys spread evenly", () => {
    for (const n of [1, 4, 16]) {
      const counts = new Array(n).fill(0);
      for (let i = 0; i < 16_000; i++) {
        const s = shardOfKey(`customer-${i}`, n);
        expect(s).toBe(shardOfKey(`customer-${i}`, n));
        counts[s]++;
      }
      for (const c of counts) expect(Math.abs(c - 16_000 / n)).toBeLessThan((16_000 / n) * 0.15);
    }
  });

  it("adding shards moves only the keys the new shard takes", () => {
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const before = shardOfKey(`k${i}`, 4);
      const after = shardOfKey(`k${i}`, 5);
      if (before !== after) {
        moved++;
        expect(after).toBe(4);
      }
    }
    expect(moved / 10_000).toBeGreaterThan(0.15);
    expect(moved / 10_000).toBeLessThan(0.25);
  });

  it("a sharded topic's ids tell their shard; shard counts are 1..MAX_SHARDS", () => {
    expect(shardOfId(MAX_SHARDS * 12345 + 7)).toBe(7);
    expect(parseShards("1")).toBe(1);
    expect(parseShards("64")).toBe(64);
    for (const bad of ["0", "65", "-1", "1.5", "", "x", "0x10"]) expect(parseShards(bad)).toBeNull();
  });
});
