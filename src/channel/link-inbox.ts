// A link's messages back in order. workerd can deliver a hibernatable socket's messages out of
// order; nsqd runs a client's commands in order, so a message that arrives ahead of a gap waits
// for it, up to MAX_EARLY of them: past that, the gap is given up and the held ones run in order.
//
//   inbox.arrive(seq, records) -> records to run now, or null (held)
//   then inbox.next() until null -> the held ones the gap no longer blocks

export const MAX_EARLY = 1024;

export class LinkInbox {
  /** Link messages that arrived ahead of a gap, by sequence number. */
  private early = new Map<number, Uint8Array>();

  /** `nextSeq`: the next message to run (null after a wake: take the first to arrive as the start). */
  constructor(private nextSeq: number | null = 0) {}

  get held(): number {
    return this.early.size;
  }

  arrive(seq: number, records: Uint8Array): Uint8Array | null {
    if (this.nextSeq === null || seq <= this.nextSeq) {
      this.nextSeq = Math.max(this.nextSeq ?? 0, seq + 1);
      return records;
    }
    this.early.set(seq, records);
    if (this.early.size <= MAX_EARLY) return null;
    // Full: give up the gap, and go on from the lowest held, in order.
    let lowest = Infinity;
    for (const s of this.early.keys()) if (s < lowest) lowest = s;
    this.nextSeq = lowest;
    return this.next();
  }

  /** The held message that is next in turn, if it has come. */
  next(): Uint8Array | null {
    if (this.early.size === 0 || this.nextSeq === null) return null;
    const records = this.early.get(this.nextSeq);
    if (records === undefined) return null;
    this.early.delete(this.nextSeq);
    this.nextSeq++;
    return records;
  }
}
