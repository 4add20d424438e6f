import { describe, expect, it } from "vitest";
import { packPublishes, SEGMENT_DEFERRED, segmentCount, segmentHeader, stampSegment, unpackSegment } from "./segment";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("packPublishes and stampSegment", () => {
  it("packs publishes in order, undeferred ones together; the topic stamps ids and times", () => {
    const segs = packPublishes([
      { bodies: [bytes("a"), bytes("bb")], deferMs: 0 },
      { bodies: [bytes("ccc")], deferMs: 0 },
    ]);
    expect(segs).toHaveLength(1);
    expect(segmentCount(segs[0]!)).toBe(3);
    expect(stampSegment(segs[0]!, 41, 1_700_000_000_123)).toBe(6);
    const seg = unpackSegment(segs[0]!);
    expect(seg.ids).toEqual([41, 42, 43]);
    expect(seg.ts).toEqual([1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_123]);
    expect(seg.bodies.map(text)).toEqual(["a", "bb", "ccc"]);
    expect(seg.flags & SEGMENT_DEFERRED).toBe(0);
    expect(segmentHeader(segs[0]!)).toMatchObject({ count: 3, first: 41, last: 43 });
  });

  it("keeps each publish's delay, deferred messages in segments of their own, in order", () => {
    const segs = packPublishes([
      { bodies: [bytes("now")], deferMs: 0 },
      { bodies: [bytes("later")], deferMs: 5000 },
      { bodies: [bytes("now2")], deferMs: 0 },
    ]);
    let id = 1;
    for (const s of segs) {
      stampSegment(s, id, 7);
      id += segmentCount(s);
    }
    const unpacked = segs.map(unpackSegment);
    expect(unpacked.map((s) => s.flags & SEGMENT_DEFERRED)).toEqual([0, SEGMENT_DEFERRED, 0]);
    expect(unpacked.flatMap((s) => s.bodies.map(text))).toEqual(["now", "later", "now2"]);
    expect(unpacked.flatMap((s) => s.defers)).toEqual([0, 5000, 0]);
    expect(unpacked.flatMap((s) => s.ids)).toEqual([1, 2, 3]);
  });

  it("splits what exceeds a segment's bounds into consecutive segments", () => {
    const big = new Uint8Array(100 * 1024);
    const segs = packPublishes([{ bodies: [big, big, big], deferMs: 0 }]);
    expect(segs.length).toBe(3);
    let id = 10;
    for (const s of segs) {
      expect(stampSegment(s, id, 0)).toBe(big.length);
      id += segmentCount(s);
    }
    expect(segs.map((s) => segmentHeader(s).first)).toEqual([10, 11, 12]);
  });

  it("refuses a buffer whose entries run past its end", () => {
    const [seg] = packPublishes([{ bodies: [bytes("hello"), bytes("world")], deferMs: 0 }]);
    expect(() => stampSegment(seg!.subarray(0, seg!.length - 1), 1, 0)).toThrow(/not a segment/);
    expect(() => stampSegment(seg!.subarray(0, 20), 1, 0)).toThrow(/not a segment/);
  });
});
