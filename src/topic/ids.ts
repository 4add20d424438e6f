// A topic's message ids: integers below 2^53, increasing in publish order, never reissued.
// They are reserved in blocks, one write per block: after a restart, allocation resumes at the
// end of the last reserved block, since any id below it may have been acknowledged.

/** Ids per reservation: a write every million messages. */
export const ID_BLOCK = 1_000_000;

export class IdAllocator {
  private next: number;

  /**
   * `limit` is the end of the last reserved block as stored (0: none yet); `save` stores a new
   * one, before any id of it is handed out.
   */
  constructor(private limit: number, private readonly save: (limit: number) => void) {
    this.next = limit;
  }

  /** Whether ids were ever reserved (the topic was created). */
  get started(): boolean {
    return this.limit !== 0;
  }

  /**
   * The first reservation starts at `nowMs` in microseconds: a re-created topic (whose storage
   * was wiped) never repeats an id of its predecessor.
   */
  start(nowMs: number) {
    if (this.limit !== 0) return;
    this.next = this.limit = nowMs * 1000;
    this.save(this.limit);
  }

  /** Reserves `count` consecutive ids; returns the first. */
  take(count: number): number {
    if (this.next + count > this.limit) {
      this.limit = this.next + count + ID_BLOCK;
      this.save(this.limit);
    }
    const first = this.next;
    this.next += count;
    return first;
  }
}
