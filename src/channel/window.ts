// The ready window: fresh messages read from stored segments in id order, bounded in count and
// bytes, so the backlog stays in storage. `cursor` is the last segment read; while `caughtUp`, no
// segment beyond it is stored and a new push may go straight in.
import { unpackSegment } from "../segment";
import { isDone, segmentState, type Place } from "./done-bits";

export interface Ready extends Place {
  id: number;
  ts: number;
  attempts: number;
  body: Uint8Array;
  /** A dead letter's origin (JSON), else null. */
  meta: string | null;
}

/** Stored segments after `cursor` in id order, with their done bitmaps (raw rows). */
export interface SegmentSource {
  segmentsAfter(cursor: number, limit: number): Iterable<[id: number, data: ArrayBuffer, done: number | null, bits: ArrayBuffer | null]>;
}

export const WINDOW_MAX_MESSAGES = 5000;
export const WINDOW_MAX_BYTES = 16 * 1024 * 1024;
const READ_BATCH = 2500;
/** Segments read per refill query, at most. */
const REFILL_SEGMENTS = 16;

export class ReadyWindow {
  private items: Ready[] = [];
  private head = 0;
  private bytes = 0;
  /** Every segment with id <= cursor has been read. */
  private cursor = 0;
  caughtUp = false;

  get size(): number {
    return this.items.length - this.head;
  }

  full(): boolean {
    return this.size >= WINDOW_MAX_MESSAGES || this.bytes >= WINDOW_MAX_BYTES;
  }

  /** Empties it; `caughtUp` when nothing is stored beyond it; `rewind`: read from the first segment. */
  reset(caughtUp: boolean, rewind: boolean) {
    this.items = [];
    this.head = this.bytes = 0;
    if (rewind) this.cursor = 0;
    this.caughtUp = caughtUp;
  }

  /** A segment just stored: into the window if it has caught up and has room (and someone reads). */
  offer(id: number, buf: Uint8Array, reading: boolean) {
    if (this.caughtUp && reading && !this.full()) this.addSegment(id, buf, null);
    else this.caughtUp = false;
  }

  /** Appends up to `n` messages to `out`, reading segments from `source` as it empties. */
  take(source: SegmentSource, n: number, out: Ready[]) {
    let want = n;
    while (want > 0) {
      if (this.head >= this.items.length && !this.refill(source, want)) break;
      const m = this.items[this.head++];
      this.bytes -= m.body.length;
      out.push(m);
      want--;
    }
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    }
  }

  /** Puts a segment's messages that are not done into the window. */
  private addSegment(id: number, buf: Uint8Array, stored: { done: number; bits: Uint8Array } | null) {
    const seg = unpackSegment(buf);
    const state = segmentState(id, seg.count, stored);
    for (let i = 0; i < seg.count; i++) {
      if (isDone(state, i)) continue;
      const body = seg.bodies[i];
      this.items.push({ id: seg.ids[i], ts: seg.ts[i], attempts: 0, body, meta: seg.metas?.[i] ?? null, seg: state, index: i });
      this.bytes += body.length;
    }
    this.cursor = id;
  }

  /** Reads the next segments after the cursor; false when there are none. */
  private refill(source: SegmentSource, want: number): boolean {
    if (this.caughtUp) return false;
    const target = Math.min(Math.max(want, 256), READ_BATCH);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    let read = 0;
    for (const [id, data, done, bits] of source.segmentsAfter(this.cursor, REFILL_SEGMENTS)) {
      if (this.items.length >= target || this.bytes >= WINDOW_MAX_BYTES) break;
      read++;
      this.addSegment(id, new Uint8Array(data), bits ? { done: done!, bits: new Uint8Array(bits) } : null);
    }
    if (read < REFILL_SEGMENTS && this.items.length < target && this.bytes < WINDOW_MAX_BYTES) this.caughtUp = true;
    return this.items.length > 0 || this.refill(source, want);
  }
}
