// Which messages of a stored segment are done (FINished, moved to a row of their own, or
// dropped): one bit each, written to storage as one bitmap per segment. A FIN chunk touches a few
// segments, so the cost per delivered message is a fraction of a statement.
//
// The flush policy: bits set by FINs alone wait up to ACK_DELAY_MS for company. Every write holds
// back what the object sends next (the output gate) until it is durable, and locally every
// commit's fsync runs on the runtime's one thread, stalling every object: a commit per burst of
// FINs cost a consumer at RDY 1 a commit per message (1,000 channels at RDY 1: 1,600 deliveries/s
// with 10 ms, 7,300 with 2 s). An event that writes anyway (a push, a move to a row) takes them
// along, and so does reaching ACK_MAX_SEGMENTS waiting segments. A FIN not yet written when the
// object stops is delivered again: at-least-once, as nsqd (whose disk queue syncs every 2 s).

/** A stored segment whose messages are in memory (window or in flight): which ones are done. */
export interface SegmentState {
  id: number;
  count: number;
  bits: Uint8Array;
  done: number;
  /** Its bitmap has been written once (a row exists for it). */
  acked: boolean;
}

/** Where a message is stored: its segment and index, or (seg null) its own row. */
export interface Place {
  seg: SegmentState | null;
  index: number;
}

/** Where flushed bitmaps go (the channel's store). */
export interface BitsWriter {
  saveBits(seg: number, done: number, bits: Uint8Array): void;
  /** Every message of the segment is done: it goes, with its bitmap if `acked`. */
  deleteSegment(seg: number, acked: boolean): void;
}

/** nsqd's --sync-timeout default. */
export const ACK_DELAY_MS = 2000;
export const ACK_MAX_SEGMENTS = 64;

/** A segment's state, from its stored bitmap (null: none written yet). */
export function segmentState(id: number, count: number, stored: { done: number; bits: Uint8Array } | null): SegmentState {
  return {
    id,
    count,
    bits: stored?.bits ?? new Uint8Array(Math.ceil(count / 8)),
    done: stored?.done ?? 0,
    acked: stored !== null,
  };
}

export const isDone = (seg: SegmentState, index: number) => (seg.bits[index >> 3] & (1 << (index & 7))) !== 0;

export type FlushNow = "now" | "later" | "none";

export class DoneBits {
  private dirty = new Set<SegmentState>();

  /** Segments with bits not yet written. */
  get pending(): number {
    return this.dirty.size;
  }

  mark(seg: SegmentState, index: number) {
    const bit = 1 << (index & 7);
    if (seg.bits[index >> 3] & bit) return;
    seg.bits[index >> 3] |= bit;
    seg.done++;
    this.dirty.add(seg);
  }

  /** At the end of an event: write now, within ACK_DELAY_MS, or nothing waits. */
  policy(eventWrote: boolean): FlushNow {
    if (eventWrote || this.dirty.size >= ACK_MAX_SEGMENTS) return "now";
    return this.dirty.size > 0 ? "later" : "none";
  }

  /** Writes the changed bitmaps; a segment whose messages are all done goes, unless `keepDone` (retention). */
  flush(to: BitsWriter, keepDone = false) {
    for (const seg of this.dirty) {
      if (seg.done >= seg.count && !keepDone) to.deleteSegment(seg.id, seg.acked);
      else {
        to.saveBits(seg.id, seg.done, seg.bits);
        seg.acked = true;
      }
    }
    this.dirty.clear();
  }

  clear() {
    this.dirty.clear();
  }
}
