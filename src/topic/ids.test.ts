import { describe, expect, it } from "vitest";
import { ID_BLOCK, IdAllocator } from "./ids";

/** An allocator over a fake stored limit, as a restarted object would read it back. */
function stored(limit = 0) {
  const saved: number[] = [];
  const open = () => new IdAllocator(saved.at(-1) ?? limit, (l) => saved.push(l));
  return { saved, open };
}

describe("IdAllocator", () => {
  it("starts at the creation time in microseconds, once", () => {
    const s = stored();
    const ids = s.open();
    expect(ids.started).toBe(false);
    ids.start(1_700_000_000_000);
    ids.start(1_800_000_000_000);
    expect(ids.started).toBe(true);
    expect(s.saved).toEqual([1_700_000_000_000_000]);
    expect(ids.take(1)).toBe(1_700_000_000_000_000);
  });

  it("hands out consecutive ids, one write per block", () => {
    const s = stored(5000);
    const ids = s.open();
    expect(ids.take(3)).toBe(5000);
    expect(ids.take(2)).toBe(5003);
    expect(s.saved).toEqual([5000 + 3 + ID_BLOCK]);
    // The block reserved by take(3) ends at 5003 + ID_BLOCK: ids up to just below it need no write.
    for (let i = 5005; i < 5003 + ID_BLOCK; i++) ids.take(1);
    expect(s.saved).toHaveLength(1);
    expect(ids.take(1)).toBe(5003 + ID_BLOCK);
    expect(s.saved).toEqual([5003 + ID_BLOCK, 5004 + 2 * ID_BLOCK]);
  });

  it("reserves a block larger than ID_BLOCK when one take needs it", () => {
    const s = stored(10);
    const ids = s.open();
    expect(ids.take(ID_BLOCK * 2)).toBe(10);
    expect(ids.take(1)).toBe(10 + ID_BLOCK * 2);
    expect(s.saved[0]).toBe(10 + ID_BLOCK * 3);
  });

  it("never reissues an id after a restart, even one never handed out", () => {
    const s = stored(100);
    const before = s.open();
    const handed = [before.take(1), before.take(1), before.take(1)];
    // Restart: the unused rest of the block is skipped.
    const after = s.open();
    const next = after.take(1);
    expect(next).toBe(100 + 1 + ID_BLOCK);
    expect(handed.every((id) => id < next)).toBe(true);
  });

  it("does not write before the first take of a restarted block", () => {
    const s = stored(100);
    s.open();
    expect(s.saved).toEqual([]);
  });

  it("a sharded topic's shard hands out only its residue, increasing, across restarts", () => {
    const saved: number[] = [];
    const open = () => new IdAllocator(saved.at(-1) ?? 0, (l) => saved.push(l), 64, 5);
    const ids = open();
    ids.start(1_700_000_000_001);
    const a = ids.take(3);
    expect(a % 64).toBe(5);
    expect(ids.take(1)).toBe(a + 3 * 64);
    // After a restart: past every id of the reserved block, still ≡ 5 (mod 64).
    const again = open();
    const b = again.take(2);
    expect(b % 64).toBe(5);
    expect(b).toBeGreaterThan(a + 3 * 64);
  });
});
