// The messages in flight: by id, and in deadline order (nsqd's inFlightPqueue), so a timer
// touches only what is due instead of scanning everything in flight.
//
// Deliveries mostly come in deadline order (now + the consumer's msg_timeout, a batch in id
// order), so they go on the end of a run kept in that order, in O(1); only what would break the
// order (a TOUCH, a consumer with a shorter msg_timeout than the last) goes into a min-heap.
// The earliest deadline is the smaller of the two heads. A FIN or REQ only drops the entry from
// the map, and a TOUCH re-files it: a filed place whose entry is gone or whose deadline moved
// is skipped when it comes to a head, and when skipped places outnumber the live the two are
// compacted, so they hold at most about twice what is in flight. (A binary heap for every
// delivery cost ~30% of the channel's time under consume: a sift per add and per FIN.)
import type { Place } from "./done-bits";

export interface InFlight<O> extends Place {
  id: number;
  owner: O;
  attempts: number;
  deliveredAt: number;
  deadline: number;
  /** The body's bytes (what the channel holds shrinks by them when it goes). */
  bytes: number;
  /** Its publish time (ms): a FIN's end-to-end latency is from it. */
  ts: number;
}

/** nsqd's reasons, as its E_FIN_FAILED / E_REQ_FAILED / E_TOUCH_FAILED texts give them. */
export const NOT_IN_FLIGHT = "ID not in flight";
export const NOT_OWNER = "client does not own message";
export type NotTaken = typeof NOT_IN_FLIGHT | typeof NOT_OWNER;

/** A place in the heap: the entry, and the deadline it was filed with. */
interface Filed<O> {
  m: InFlight<O>;
  deadline: number;
}

/** Deadline order; equal deadlines (one batch) in id order, so timeouts requeue segment by segment. */
const before = (d1: number, id1: number, d2: number, id2: number) => d1 < d2 || (d1 === d2 && id1 < id2);
const less = <O>(a: Filed<O>, b: Filed<O>) => before(a.deadline, a.m.id, b.deadline, b.m.id);

export class InFlightTable<O> {
  private byId = new Map<number, InFlight<O>>();
  /** Places in deadline order from `head`: the entries, and the deadlines they were filed with. */
  private run: InFlight<O>[] = [];
  private runDeadlines: number[] = [];
  private head = 0;
  /** Places filed out of the run's order: a min-heap. */
  private heap: Filed<O>[] = [];

  /** `maxTimeout`: a TOUCH never moves a deadline past deliveredAt + maxTimeout (nsqd's max_msg_timeout). */
  constructor(private readonly maxTimeout: number) {}

  get size(): number {
    return this.byId.size;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  add(m: InFlight<O>) {
    this.byId.set(m.id, m);
    this.file(m);
  }

  /** Out of flight, if `owner` holds it (FIN, REQ). */
  take(owner: O, id: number): InFlight<O> | NotTaken {
    const m = this.byId.get(id);
    if (!m) return NOT_IN_FLIGHT;
    if (m.owner !== owner) return NOT_OWNER;
    this.byId.delete(id);
    this.compactIfStale();
    return m;
  }

  /** A new deadline for a message `owner` holds, capped by maxTimeout since delivery (TOUCH). */
  touch(owner: O, id: number, deadline: number): InFlight<O> | NotTaken {
    const m = this.byId.get(id);
    if (!m) return NOT_IN_FLIGHT;
    if (m.owner !== owner) return NOT_OWNER;
    const capped = Math.min(deadline, m.deliveredAt + this.maxTimeout);
    if (capped !== m.deadline) {
      m.deadline = capped;
      this.file(m);
      this.compactIfStale();
    }
    return m;
  }

  /** Takes out every message whose deadline is <= now, earliest first. */
  expire(now: number): InFlight<O>[] {
    const out: InFlight<O>[] = [];
    for (let m = this.first(); m !== null && m.deadline <= now; m = this.first()) {
      // Out of the map, its place is skipped by the next first().
      this.byId.delete(m.id);
      out.push(m);
    }
    return out;
  }

  /** The earliest deadline (Infinity: nothing in flight). */
  nextDeadline(): number {
    return this.first()?.deadline ?? Infinity;
  }

  /** Takes out everything `owner` holds, in the order it was delivered (a consumer is gone). */
  removeOwner(owner: O): InFlight<O>[] {
    const out: InFlight<O>[] = [];
    for (const m of this.byId.values()) if (m.owner === owner) out.push(m);
    for (const m of out) this.byId.delete(m.id);
    this.compactIfStale();
    return out;
  }

  clear() {
    this.byId.clear();
    this.run = [];
    this.runDeadlines = [];
    this.head = 0;
    this.heap = [];
  }

  private file(m: InFlight<O>) {
    const n = this.run.length;
    if (n === this.head || before(this.runDeadlines[n - 1]!, this.run[n - 1]!.id, m.deadline, m.id)) {
      this.run.push(m);
      this.runDeadlines.push(m.deadline);
    } else this.heapPush({ m, deadline: m.deadline });
  }

  /** A place is live while its entry is in flight with the deadline it was filed with. */
  private isLive(m: InFlight<O>, deadline: number): boolean {
    return this.byId.get(m.id) === m && m.deadline === deadline;
  }

  /** The live entry with the earliest deadline, dead places skipped off both heads; null if none. */
  private first(): InFlight<O> | null {
    while (this.head < this.run.length && !this.isLive(this.run[this.head]!, this.runDeadlines[this.head]!)) this.head++;
    while (this.heap.length > 0 && !this.isLive(this.heap[0]!.m, this.heap[0]!.deadline)) this.heapPop();
    if (this.head > 1024 && this.head * 2 > this.run.length) this.dropHead();
    const r = this.head < this.run.length ? this.run[this.head]! : null;
    const h = this.heap.length > 0 ? this.heap[0]!.m : null;
    if (r === null) return h;
    return h === null || before(r.deadline, r.id, h.deadline, h.id) ? r : h;
  }

  private dropHead() {
    this.run = this.run.slice(this.head);
    this.runDeadlines = this.runDeadlines.slice(this.head);
    this.head = 0;
  }

  /** Compacts once dead places outnumber the live (and a few thousand). */
  private compactIfStale() {
    if (this.run.length - this.head + this.heap.length <= 2 * this.byId.size + 2048) return;
    const run: InFlight<O>[] = [];
    const deadlines: number[] = [];
    for (let i = this.head; i < this.run.length; i++) {
      if (!this.isLive(this.run[i]!, this.runDeadlines[i]!)) continue;
      run.push(this.run[i]!);
      deadlines.push(this.runDeadlines[i]!);
    }
    this.run = run;
    this.runDeadlines = deadlines;
    this.head = 0;
    this.heap = this.heap.filter((f) => this.isLive(f.m, f.deadline));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private heapPush(f: Filed<O>) {
    const h = this.heap;
    let j = h.push(f) - 1;
    while (j > 0) {
      const i = (j - 1) >> 1;
      if (!less(h[j]!, h[i]!)) break;
      [h[i], h[j]] = [h[j]!, h[i]!];
      j = i;
    }
  }

  private heapPop() {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.down(0);
  }

  private down(i: number) {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      let j = 2 * i + 1;
      if (j >= n) break;
      if (j + 1 < n && less(h[j + 1]!, h[j]!)) j++;
      if (!less(h[j]!, h[i]!)) break;
      [h[i], h[j]] = [h[j]!, h[i]!];
      i = j;
    }
  }
}
