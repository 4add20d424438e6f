// Storing the topic's segments, idempotent by message id: the topic's outbox may push a
// segment again, and a message already here is not stored twice. Runs inside the push's
// transaction; what memory needs afterwards goes into the plan, applied once it has committed.
import type { MessageBatch } from "../message";
import { packSegments, SEGMENT_DEFERRED, segmentBodyBytes, segmentHeader, segmentTs, unpackSegment } from "../segment";
import type { ChannelStore } from "./store";

export interface IngestPlan {
  added: number;
  /** Their bodies' bytes. */
  bytes: number;
  /** The highest id stored in a segment: a segment above it cannot hold a duplicate. */
  lastId: number;
  /** Segments stored, in order: they join the window if it has caught up and has room. */
  segments: { id: number; buf: Uint8Array }[];
  /** The earliest due time among the rows stored. */
  nextDue: number;
}

export const ingestPlan = (lastId: number): IngestPlan => ({ added: 0, bytes: 0, lastId, segments: [], nextDue: Infinity });

/** Stores one segment as it came, or its new messages as rows (deferred, or below stored ids). */
export function ingest(store: ChannelStore, buf: Uint8Array, now: number, plan: IngestPlan) {
  const { count, flags, first, last } = segmentHeader(buf);
  if (flags & SEGMENT_DEFERRED) {
    const seg = unpackSegment(buf);
    insertRows(store, { ...seg, metas: seg.metas ?? undefined }, seg.ids.map((_, i) => Math.max(seg.ts[i] + seg.defers[i], now)), plan);
    return;
  }
  if (first > plan.lastId) {
    store.insertSegment(first, last, count, buf, segmentTs(buf));
    plan.lastId = last;
    plan.segments.push({ id: first, buf });
    plan.added += count;
    plan.bytes += segmentBodyBytes(buf, count);
    return;
  }
  // A retry may repeat messages stored here: a message whose id lies in a stored segment's range
  // is here. The rest is stored anew, as a segment where it is above every stored id, else as
  // rows that are ready now (a row already here is kept, not doubled).
  const ranges = store.segmentRanges(first, last);
  const seg = unpackSegment(buf);
  const batch = (): MessageBatch => ({ ids: [], ts: [], bodies: [], ...(seg.metas ? { metas: [] } : {}) });
  const above = batch();
  const below = batch();
  for (let i = 0; i < count; i++) {
    const id = seg.ids[i];
    if (ranges.some(([a, b]) => a <= id && id <= b)) continue;
    const to = id > plan.lastId ? above : below;
    to.ids.push(id);
    to.ts.push(seg.ts[i]);
    to.bodies.push(seg.bodies[i]);
    to.metas?.push(seg.metas![i] ?? null);
  }
  insertRows(store, below, below.ids.map(() => now), plan);
  for (const s of packSegments(above)) ingest(store, s, now, plan);
}

function insertRows(store: ChannelStore, batch: Pick<MessageBatch, "ids" | "ts" | "bodies" | "metas">, due: number[], plan: IngestPlan) {
  const added = store.insertRows(batch, due);
  plan.added += added;
  // (A retried copy already here is not counted; which of a partly new batch were new is not told.)
  if (added > 0) plan.bytes += Math.round((batch.bodies.reduce((n, b) => n + b.length, 0) * added) / batch.ids.length);
  for (const d of due) if (d < plan.nextDue) plan.nextDue = d;
}
