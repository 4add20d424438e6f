// A segment: a run of messages packed into one buffer. Publishers (the Worker's V2 sessions and
// HTTP requests) pack their messages once (packPublishes); the topic only stamps ids and times
// into them (stampSegment) and sends the same segments to every channel; a channel stores a
// segment as one row. SQLite's cost is per row and per statement, so one row for hundreds of
// messages is what lets a topic with many channels keep up (one insert per message per channel
// was the limit), and an RPC's cost grows with the values it carries: one buffer, not a view per
// message (measured: an RPC carrying 200 views of 200 B cost ~90 µs more than one of 40 KB).
//
//   header   u32 count, u32 flags
//   message  f64 id, f64 ts, f64 defer (ms), u32 length, body
//   trailer  (flag SEGMENT_META only) the messages' metas as a JSON array of strings or nulls
import type { MessageBatch } from "./message";
import type { Publish } from "./objects";

/** The segment's messages are deferred (DPUB): the channel keeps them as rows with a due time. */
export const SEGMENT_DEFERRED = 1;
/** The segment ends with its messages' metas (a dead letter's origin), after the last entry. */
export const SEGMENT_META = 2;

const HEADER = 8;
const ENTRY_HEADER = 28;
/** Bounds per segment: a row far under SQLite's 2 MB value limit, and a small ack bitmap. */
const SEGMENT_MAX_BYTES = 128 * 1024;
const SEGMENT_MAX_MESSAGES = 1024;

export interface Segment {
  count: number;
  flags: number;
  ids: number[];
  ts: number[];
  defers: number[];
  /** Views into the segment's buffer. */
  bodies: Uint8Array[];
  /** SEGMENT_META: each message's meta (JSON), else null. */
  metas: (string | null)[] | null;
}

/**
 * Packs a batch into segments of consecutive messages, in order. Deferred messages go into
 * segments of their own (flagged), so that a plain segment can be stored as it is.
 */
export function packSegments(batch: MessageBatch, maxBytes = SEGMENT_MAX_BYTES, maxCount = SEGMENT_MAX_MESSAGES): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = batch.ids.length;
  let i = 0;
  const metas = batch.metas;
  while (i < n) {
    const deferred = (batch.defers?.[i] ?? 0) > 0;
    // A segment holds at least one message, whatever its size.
    let end = i + 1;
    let size = HEADER + ENTRY_HEADER + batch.bodies[i].length;
    while (end < n && end - i < maxCount && ((batch.defers?.[end] ?? 0) > 0) === deferred) {
      const next = size + ENTRY_HEADER + batch.bodies[end].length;
      if (next > maxBytes) break;
      size = next;
      end++;
    }
    const trailer = metas ? encoder.encode(JSON.stringify(metas.slice(i, end))) : null;
    const buf = new Uint8Array(size + (trailer ? trailer.length : 0));
    const view = new DataView(buf.buffer);
    view.setUint32(0, end - i, true);
    view.setUint32(4, (deferred ? SEGMENT_DEFERRED : 0) | (trailer ? SEGMENT_META : 0), true);
    if (trailer) buf.set(trailer, size);
    let at = HEADER;
    for (let j = i; j < end; j++) {
      const body = batch.bodies[j];
      view.setFloat64(at, batch.ids[j], true);
      view.setFloat64(at + 8, batch.ts[j], true);
      view.setFloat64(at + 16, batch.defers?.[j] ?? 0, true);
      view.setUint32(at + 24, body.length, true);
      buf.set(body, at + ENTRY_HEADER);
      at += ENTRY_HEADER + body.length;
    }
    out.push(buf);
    i = end;
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function unpackSegment(buf: Uint8Array): Segment {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = view.getUint32(0, true);
  const flags = view.getUint32(4, true);
  const seg: Segment = { count, flags, ids: new Array(count), ts: new Array(count), defers: new Array(count), bodies: new Array(count), metas: null };
  let at = HEADER;
  for (let j = 0; j < count; j++) {
    seg.ids[j] = view.getFloat64(at, true);
    seg.ts[j] = view.getFloat64(at + 8, true);
    seg.defers[j] = view.getFloat64(at + 16, true);
    const length = view.getUint32(at + 24, true);
    seg.bodies[j] = buf.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + length);
    at += ENTRY_HEADER + length;
  }
  if (flags & SEGMENT_META) seg.metas = JSON.parse(decoder.decode(buf.subarray(at)));
  return seg;
}

/** A segment's header and first and last message ids, without unpacking it. */
export function segmentHeader(buf: Uint8Array): { count: number; flags: number; first: number; last: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = view.getUint32(0, true);
  // The last entry's offset needs the lengths before it: walk the entry headers.
  let at = HEADER;
  for (let j = 0; j < count - 1; j++) at += ENTRY_HEADER + view.getUint32(at + 24, true);
  return { count, flags: view.getUint32(4, true), first: view.getFloat64(HEADER, true), last: view.getFloat64(at, true) };
}

/**
 * Publishes packed as segments whose ids and times are still zero: the topic stamps them. One
 * run of segments for the lot (consecutive undeferred messages share segments), in order.
 */
export function packPublishes(publishes: readonly Publish[]): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  let deferred = false;
  for (const p of publishes) {
    for (const b of p.bodies) bodies.push(b);
    if (p.deferMs > 0) deferred = true;
  }
  const zeros = new Array<number>(bodies.length).fill(0);
  const batch: MessageBatch = { ids: zeros, ts: zeros, bodies };
  if (deferred) batch.defers = publishes.flatMap((p) => p.bodies.map(() => p.deferMs));
  return packSegments(batch);
}

/** The bytes of a segment's bodies (a SEGMENT_META segment's trailer counted with them). */
export const segmentBodyBytes = (buf: Uint8Array, count: number) => buf.length - HEADER - ENTRY_HEADER * count;

/** The publish time of a segment's first message. */
export const segmentTs = (buf: Uint8Array) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getFloat64(HEADER + 8, true);

/** The number of messages in a segment (its header). */
export const segmentCount = (buf: Uint8Array) => new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);

/**
 * Writes ids (from `firstId`, each `stride` after the one before) and the publish time into a
 * packed segment; returns the bytes of its bodies. Throws if the entries do not fit the buffer
 * (not a segment).
 */
export function stampSegment(buf: Uint8Array, firstId: number, ts: number, stride = 1): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = view.getUint32(0, true);
  let at = HEADER;
  let bytes = 0;
  for (let j = 0; j < count; j++) {
    if (at + ENTRY_HEADER > buf.length) throw new Error("not a segment: an entry runs past its end");
    const length = view.getUint32(at + 24, true);
    if (at + ENTRY_HEADER + length > buf.length) throw new Error("not a segment: a body runs past its end");
    view.setFloat64(at, firstId + j * stride, true);
    view.setFloat64(at + 8, ts, true);
    bytes += length;
    at += ENTRY_HEADER + length;
  }
  return bytes;
}
