import { describe, expect, it } from "vitest";
import { ACK_MAX_SEGMENTS, DoneBits, isDone, segmentState, type BitsWriter } from "./done-bits";

/** Records what a flush writes (the store's side of it is SQL, tested in workerd). */
function writer() {
  const saved: [number, number, number[]][] = [];
  const deleted: [number, boolean][] = [];
  const to: BitsWriter = {
    saveBits: (seg, done, bits) => saved.push([seg, done, [...bits]]),
    deleteSegment: (seg, acked) => deleted.push([seg, acked]),
  };
  return { to, saved, deleted };
}

describe("done bits", () => {
  it("sets each message's bit once and counts it once", () => {
    const bits = new DoneBits();
    const seg = segmentState(1, 10, null);
    bits.mark(seg, 0);
    bits.mark(seg, 9);
    bits.mark(seg, 9);
    expect(seg.done).toBe(2);
    expect([...seg.bits]).toEqual([0b1, 0b10]);
    expect(isDone(seg, 9) && isDone(seg, 0) && !isDone(seg, 1)).toBe(true);
    expect(bits.pending).toBe(1);
  });

  it("starts from a stored bitmap", () => {
    const seg = segmentState(4, 3, { done: 1, bits: new Uint8Array([0b10]) });
    expect(seg.acked).toBe(true);
    expect(isDone(seg, 1)).toBe(true);
    new DoneBits().mark(seg, 1);
    expect(seg.done).toBe(1);
  });

  it("writes a bitmap per changed segment, and drops a segment once all are done", () => {
    const bits = new DoneBits();
    const a = segmentState(1, 3, null);
    const b = segmentState(2, 2, null);
    bits.mark(a, 1);
    bits.mark(b, 0);
    bits.mark(b, 1);
    const w = writer();
    bits.flush(w.to);
    expect(w.saved).toEqual([[1, 1, [0b10]]]);
    expect(w.deleted).toEqual([[2, false]]);
    expect(a.acked).toBe(true);
    expect(bits.pending).toBe(0);
    // Once its bitmap is stored, a segment that is all done goes with it.
    bits.mark(a, 0);
    bits.mark(a, 2);
    const w2 = writer();
    bits.flush(w2.to);
    expect(w2.deleted).toEqual([[1, true]]);
    expect(w2.saved).toEqual([]);
  });

  it("flushes at once when the event wrote or enough segments wait, else soon, else not", () => {
    const bits = new DoneBits();
    expect(bits.policy(false)).toBe("none");
    expect(bits.policy(true)).toBe("now");
    bits.mark(segmentState(1, 8, null), 0);
    expect(bits.policy(false)).toBe("later");
    for (let i = 2; i < ACK_MAX_SEGMENTS; i++) bits.mark(segmentState(i, 8, null), 0);
    expect(bits.pending).toBe(ACK_MAX_SEGMENTS - 1);
    expect(bits.policy(false)).toBe("later");
    bits.mark(segmentState(ACK_MAX_SEGMENTS, 8, null), 0);
    expect(bits.policy(false)).toBe("now");
    bits.clear();
    expect(bits.policy(false)).toBe("none");
  });
});
