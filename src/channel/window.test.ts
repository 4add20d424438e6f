import { describe, expect, it } from "vitest";
import { packSegments, segmentHeader } from "../segment";
import { ReadyWindow, WINDOW_MAX_BYTES, WINDOW_MAX_MESSAGES, type Ready, type SegmentSource } from "./window";

const encoder = new TextEncoder();

/** Stored segments in memory, in id order, with optional done bitmaps. */
function source(segments: Uint8Array[], bits = new Map<number, Uint8Array>()) {
  const rows = segments.map((buf) => ({ id: segmentHeader(buf).first, buf }));
  let reads = 0;
  const src: SegmentSource = {
    segmentsAfter(cursor, limit) {
      reads++;
      return rows
        .filter((r) => r.id > cursor)
        .slice(0, limit)
        .map((r) => {
          const b = bits.get(r.id);
          const done = b ? [...b].reduce((n, x) => n + x.toString(2).split("1").length - 1, 0) : null;
          return [r.id, r.buf.slice().buffer as ArrayBuffer, done, b ? (b.slice().buffer as ArrayBuffer) : null] as [number, ArrayBuffer, number | null, ArrayBuffer | null];
        });
    },
  };
  return { src, reads: () => reads };
}

const batch = (from: number, n: number, size = 1) => ({
  ids: Array.from({ length: n }, (_, i) => from + i),
  ts: Array.from({ length: n }, () => 1),
  bodies: Array.from({ length: n }, (_, i) => encoder.encode(String(from + i).padEnd(size, "."))),
});

const ids = (out: Ready[]) => out.map((m) => m.id);

describe("the ready window", () => {
  it("reads stored segments in id order, skipping done messages", () => {
    const segs = packSegments(batch(1, 30), 1 << 20, 10);
    const w = new ReadyWindow();
    w.reset(false, true);
    const { src } = source(segs, new Map([[11, new Uint8Array([0b101, 0])]]));
    const out: Ready[] = [];
    w.take(src, 100, out);
    expect(ids(out)).toEqual(Array.from({ length: 30 }, (_, i) => 1 + i).filter((id) => id !== 11 && id !== 13));
    expect(w.caughtUp).toBe(true);
  });

  it("takes no more than asked and keeps the rest for the next take", () => {
    const w = new ReadyWindow();
    w.reset(false, true);
    const { src } = source(packSegments(batch(1, 20), 1 << 20, 5));
    const a: Ready[] = [];
    w.take(src, 7, a);
    expect(ids(a)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(w.size).toBe(13);
    const b: Ready[] = [];
    w.take(src, 100, b);
    expect(ids(b)).toEqual(Array.from({ length: 13 }, (_, i) => 8 + i));
    expect(w.size).toBe(0);
  });

  it("takes pushed segments straight in only while caught up, with a reader and room", () => {
    const w = new ReadyWindow();
    w.reset(true, true);
    const [s1] = packSegments(batch(1, 3));
    const [s2] = packSegments(batch(4, 3));
    w.offer(1, s1, false);
    expect(w.size).toBe(0);
    expect(w.caughtUp).toBe(false);
    w.reset(true, true);
    w.offer(4, s2, true);
    expect(w.size).toBe(3);
    expect(w.caughtUp).toBe(true);
  });

  it("stops at its bounds in messages and bytes", () => {
    const w = new ReadyWindow();
    w.reset(true, true);
    let id = 1;
    while (!w.full()) {
      for (const s of packSegments(batch(id, 1000))) w.offer(segmentHeader(s).first, s, true);
      id += 1000;
    }
    expect(w.size).toBe(WINDOW_MAX_MESSAGES);
    for (const s of packSegments(batch(id, 10))) w.offer(segmentHeader(s).first, s, true);
    expect(w.size).toBe(WINDOW_MAX_MESSAGES);
    expect(w.caughtUp).toBe(false);

    const big = new ReadyWindow();
    big.reset(true, true);
    const size = 64 * 1024;
    let n = 0;
    while (!big.full()) for (const s of packSegments(batch(++n, 1, size))) big.offer(n, s, true);
    expect(n).toBe(WINDOW_MAX_BYTES / size);
  });

  it("reads a backlog in bounded batches, not all at once", () => {
    const w = new ReadyWindow();
    w.reset(false, true);
    const { src, reads } = source(packSegments(batch(1, 10_000), 1 << 20, 100));
    const out: Ready[] = [];
    w.take(src, 10, out);
    expect(ids(out)).toEqual(Array.from({ length: 10 }, (_, i) => 1 + i));
    expect(w.size).toBeLessThanOrEqual(2500);
    expect(w.caughtUp).toBe(false);
    const all: Ready[] = [];
    while (!w.caughtUp || w.size > 0) w.take(src, 1000, all);
    expect(all.length).toBe(9990);
    expect(all[9989].id).toBe(10_000);
    expect(reads()).toBeGreaterThan(4);
  });
});
