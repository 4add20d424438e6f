// A topic's message ids: integers below 2^53, increasing in publish order, never reissued.
// They are reserved in blocks, one write per block: after a restart, allocation resumes at the
// end of the last reserved block, since any id below it may have been acknowledged.

/** Ids per reservation: a write every million messages. */
export const ID_BLOCK = 1_000_000;

export class IdAllocator {
  private next: number;

  /**
   * `limit` is the end of the last reserved block as stored (0: none yet); `save` stores a new
   * one, before any id of it is handed out. A sharded topic's shard `offset` hands out only ids
   * ≡ offset (mod `stride`) (src/topic/shards.ts), so that shards never issue the same id.
   */
  constructor(
    private limit: number,
    private readonly save: (limit: number) => void,
    readonly stride = 1,
    private readonly offset = 0,
  ) {
    this.next = this.align(limit);
  }

  /** The first id at or above `n` that is this allocator's. */
  private align(n: number): number {
    if (this.stride === 1) return n;
    const r = n % this.stride;
    return n - r + this.offset + (r > this.offset ? this.stride : 0);
  }

  /** The end of the reserved ids: none handed out so far is at or above it. */
  get reserved(): number {
    return this.limit;
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
    this.limit = nowMs * 1000;
    this.next = this.align(this.limit);
    this.save(this.limit);
  }

  /** Reserves `count` ids, each `stride` after the one before; returns the first. */
  take(count: number): number {
    const end = this.next + count * this.stride;
    if (end > this.limit) {
      this.limit = end + ID_BLOCK * this.stride;
      this.save(this.limit);
    }
    const first = this.next;
    this.next = end;
    return first;
  }
}
