// Group commit: callers that arrive while one flush is under way share the next one. Under load
// that makes fewer, larger writes (or RPCs), and items are flushed in the order they came.
//
//   add(a) ─┐ flush([a])         ─> a settles
//   add(b) ─┤ ┐ (waits)
//   add(c) ─┘ ┘ flush([b, c])    ─> b and c settle together
//
// A group holds at least one item and, beyond the first, stays within maxCount and maxBytes.
// A flush that fails rejects exactly the callers of its group; the next group still goes. A flush
// may answer each item (a publish refused, say): add() resolves with the item's answer.

export interface GroupBounds<T> {
  maxCount: number;
  maxBytes: number;
  /** An item's share of maxCount (e.g. its messages). */
  count(item: T): number;
  /** An item's share of maxBytes. */
  bytes(item: T): number;
}

export class GroupCommit<T, R = void> {
  // Parallel arrays, not a waiter object per item: the item is the caller's only allocation.
  private items: T[] = [];
  private resolves: ((r: R | undefined) => void)[] = [];
  private rejects: ((e: unknown) => void)[] = [];
  private running = false;

  constructor(
    private readonly flush: (group: T[]) => Promise<(R | undefined)[] | void> | (R | undefined)[] | void,
    private readonly bounds: GroupBounds<T>,
  ) {}

  /** Resolves once a flush of a group holding `item` succeeded (with its answer); rejects with its error. */
  add(item: T): Promise<R | undefined> {
    const done = new Promise<R | undefined>((resolve, reject) => {
      this.items.push(item);
      this.resolves.push(resolve);
      this.rejects.push(reject);
    });
    // The first group starts at once, in this turn.
    if (!this.running) void this.run();
    return done;
  }

  /** Items waiting for a flush (not counting the group being flushed). */
  get pending(): number {
    return this.items.length;
  }

  /** Rejects every item not yet in a flush (the group under way settles as its flush does). */
  rejectPending(e: unknown) {
    this.items.length = 0;
    this.resolves.length = 0;
    const rejects = this.rejects.splice(0);
    for (const reject of rejects) reject(e);
  }

  private async run() {
    this.running = true;
    try {
      while (this.items.length) {
        const n = this.groupLength();
        const group = this.items.splice(0, n);
        const resolves = this.resolves.splice(0, n);
        const rejects = this.rejects.splice(0, n);
        try {
          const answers = await this.flush(group);
          resolves.forEach((resolve, i) => resolve(answers ? answers[i] : undefined));
        } catch (e) {
          for (const reject of rejects) reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** How many queued items the next group takes. */
  private groupLength(): number {
    const { maxCount, maxBytes } = this.bounds;
    let count = 0;
    let bytes = 0;
    let n = 0;
    while (n < this.items.length) {
      const item = this.items[n];
      const c = this.bounds.count(item);
      const b = this.bounds.bytes(item);
      if (n > 0 && (count + c > maxCount || bytes + b > maxBytes)) break;
      count += c;
      bytes += b;
      n++;
    }
    return n;
  }
}
