import { describe, expect, it } from "vitest";
import { admit, DUPLICATE, messagesOf, QUEUE_FULL, repack, type Held, type Unit } from "./admission";

const none = new Map<string, Held>();
const unit = (n: number, key?: string, bytes = n * 10): Unit => ({ n, bytes, key });

describe("admission", () => {
  it("admits everything without bounds or keys", () => {
    expect(admit({ units: [unit(1), unit(5)], bounds: [], held: none, pending: { count: 0, bytes: 0 }, seen: () => false })).toEqual([null, null]);
  });

  it("a key seen before, or earlier in the group, is a duplicate; a refused publish's key is not remembered", () => {
    const seen = new Set(["a"]);
    const v = admit({
      units: [unit(1, "a"), unit(1, "b"), unit(1, "b"), unit(3, "c"), unit(1, "c")],
      bounds: [{ channel: "ch", maxDepth: 2, maxBytes: 0 }],
      held: none,
      pending: { count: 0, bytes: 0 },
      seen: (k) => seen.has(k),
    });
    // c (3 messages) does not fit: refused, so the second c is admitted.
    expect(v).toEqual([DUPLICATE, null, DUPLICATE, QUEUE_FULL, null]);
  });

  it("admits in order exactly what fits the strictest bound, counting what channels and the backlog hold", () => {
    const held = new Map([["a", { count: 3, bytes: 30 }], ["b", { count: 1, bytes: 10 }]]);
    const bounds = [
      { channel: "a", maxDepth: 10, maxBytes: 0 },
      { channel: "b", maxDepth: 0, maxBytes: 60 },
    ];
    const units = Array.from({ length: 8 }, () => unit(1));
    const v = admit({ units, bounds, held, pending: { count: 2, bytes: 0 }, seen: () => false });
    // b: 10 held + 10 per message within 60 bytes: 5 admitted. (a would take 5 too: 3 + 2 + 5 = 10.)
    expect(v.filter((x) => x === null)).toHaveLength(5);
    expect(v.slice(5)).toEqual([QUEUE_FULL, QUEUE_FULL, QUEUE_FULL]);
  });

  it("a publish larger than the room is refused while a smaller one after it still fits", () => {
    const v = admit({ units: [unit(4), unit(1)], bounds: [{ channel: "c", maxDepth: 3, maxBytes: 0 }], held: none, pending: { count: 0, bytes: 0 }, seen: () => false });
    expect(v).toEqual([QUEUE_FULL, null]);
  });
});

describe("repack", () => {
  it("keeps exactly the admitted units' messages, in order, deferrals and metas with them", async () => {
    const { packSegments, unpackSegment } = await import("../segment");
    const enc = (s: string) => new TextEncoder().encode(s);
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    const a = packSegments({ ids: [0, 0, 0], ts: [0, 0, 0], bodies: ["a1", "a2", "b1"].map(enc) });
    const d = packSegments({ ids: [0], ts: [0], bodies: [enc("late")], defers: [500] });
    const m = packSegments({ ids: [0, 0], ts: [0, 0], bodies: ["x", "y"].map(enc), metas: ['{"o":1}', null] });
    const items = [
      { messages: messagesOf(a), units: [2, 1] },
      { messages: messagesOf(d), units: [1] },
      { messages: messagesOf(m), units: [1, 1] },
    ];
    const segs = repack(items, [null, QUEUE_FULL, null, DUPLICATE, null]).map(unpackSegment);
    expect(segs.flatMap((s) => s.bodies.map(text))).toEqual(["a1", "a2", "late", "y"]);
    expect(segs.flatMap((s) => s.defers)).toEqual([0, 0, 500, 0]);
    expect(repack(items, [QUEUE_FULL, QUEUE_FULL, QUEUE_FULL, QUEUE_FULL, QUEUE_FULL])).toEqual([]);
    const withMeta = repack(items, [QUEUE_FULL, QUEUE_FULL, QUEUE_FULL, null, null]).map(unpackSegment);
    expect(withMeta[0]!.metas).toEqual(['{"o":1}', null]);
  });
});
