// The messages in flight: by id, and in a min-heap of deadlines (nsqd's inFlightPqueue), so a
// timer touches only what is due instead of scanning everything in flight. Each entry knows its
// slot in the heap (TOUCH moves it in place). A FIN or REQ only drops the entry from the map:
// taking it out of the heap at once cost ~460 ns per message (consume ran ~15% slower); a
// taken entry leaves the heap when it reaches the top, or when taken ones outnumber the live
// (the heap is rebuilt from the map), so the heap holds at most about twice what is in flight.
import type { Place } from "./done-bits";

export interface InFlight<O> extends Place {
  id: number;
  owner: O;
  attempts: number;
  deliveredAt: number;
  deadline: number;
  /** Its index in the heap (-1 once out). */
  slot: number;
}

/** nsqd's reasons, as its E_FIN_FAILED / E_REQ_FAILED / E_TOUCH_FAILED texts give them. */
export const NOT_IN_FLIGHT = "ID not in flight";
export const NOT_OWNER = "client does not own message";
export type NotTaken = typeof NOT_IN_FLIGHT | typeof NOT_OWNER;

export class InFlightTable<O> {
  private byId = new Map<number, InFlight<O>>();
  private heap: InFlight<O>[] = [];
  /** Entries in the heap that are no longer in flight. */
  private taken = 0;

  /** `maxTimeout`: a TOUCH never moves a deadline past deliveredAt + maxTimeout (nsqd's max_msg_timeout). */
  constructor(private readonly maxTimeout: number) {}

  get size(): number {
    return this.byId.size;
  }

  add(m: InFlight<O>) {
    this.byId.set(m.id, m);
    m.slot = this.heap.length;
    this.heap.push(m);
    this.up(m.slot);
  }

  /** Out of flight, if `owner` holds it (FIN, REQ). */
  take(owner: O, id: number): InFlight<O> | NotTaken {
    const m = this.byId.get(id);
    if (!m) return NOT_IN_FLIGHT;
    if (m.owner !== owner) return NOT_OWNER;
    this.byId.delete(id);
    this.drop();
    return m;
  }

  /** A new deadline for a message `owner` holds, capped by maxTimeout since delivery (TOUCH). */
  touch(owner: O, id: number, deadline: number): InFlight<O> | NotTaken {
    const m = this.byId.get(id);
    if (!m) return NOT_IN_FLIGHT;
    if (m.owner !== owner) return NOT_OWNER;
    m.deadline = Math.min(deadline, m.deliveredAt + this.maxTimeout);
    this.down(m.slot);
    this.up(m.slot);
    return m;
  }

  /** Takes out every message whose deadline is <= now, earliest first. */
  expire(now: number): InFlight<O>[] {
    const out: InFlight<O>[] = [];
    for (let m = this.top(); m !== null && m.deadline <= now; m = this.top()) {
      this.byId.delete(m.id);
      this.popTop();
      out.push(m);
    }
    return out;
  }

  /** The earliest deadline (Infinity: nothing in flight). */
  nextDeadline(): number {
    return this.top()?.deadline ?? Infinity;
  }

  /** Takes out everything `owner` holds, in the order it was delivered (a consumer is gone). */
  removeOwner(owner: O): InFlight<O>[] {
    const out: InFlight<O>[] = [];
    for (const m of this.byId.values()) if (m.owner === owner) out.push(m);
    for (const m of out) {
      this.byId.delete(m.id);
      this.drop();
    }
    return out;
  }

  clear() {
    this.byId.clear();
    this.heap.length = 0;
    this.taken = 0;
  }

  private isIn(m: InFlight<O>): boolean {
    return this.byId.get(m.id) === m;
  }

  /** The earliest entry still in flight, after dropping taken ones from the top. */
  private top(): InFlight<O> | null {
    while (this.heap.length > 0 && !this.isIn(this.heap[0])) {
      this.popTop();
      this.taken--;
    }
    return this.heap.length > 0 ? this.heap[0] : null;
  }

  /** One more taken entry left in the heap; rebuilt from the map once they outnumber the live. */
  private drop() {
    if (++this.taken <= 1024 || this.taken <= this.byId.size) return;
    this.heap = [...this.byId.values()];
    for (let i = 0; i < this.heap.length; i++) this.heap[i].slot = i;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
    this.taken = 0;
  }

  private popTop() {
    const h = this.heap;
    const first = h[0];
    const last = h.pop()!;
    first.slot = -1;
    if (first === last) return;
    h[0] = last;
    last.slot = 0;
    this.down(0);
  }

  /** Deadline order; equal deadlines (one batch) in id order, so timeouts requeue segment by segment. */
  private less(a: InFlight<O>, b: InFlight<O>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.id < b.id);
  }

  private up(j: number) {
    const h = this.heap;
    while (j > 0) {
      const i = (j - 1) >> 1;
      if (!this.less(h[j], h[i])) break;
      this.swap(i, j);
      j = i;
    }
  }

  private down(i: number) {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      let j = 2 * i + 1;
      if (j >= n) break;
      if (j + 1 < n && this.less(h[j + 1], h[j])) j++;
      if (!this.less(h[j], h[i])) break;
      this.swap(i, j);
      i = j;
    }
  }

  private swap(i: number, j: number) {
    const h = this.heap;
    const t = h[i];
    h[i] = h[j];
    h[j] = t;
    h[i].slot = i;
    h[j].slot = j;
  }
}
