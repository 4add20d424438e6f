// The Worker's side of group commit: concurrent HTTP publishes to one topic (or shard) from this
// isolate share one RPC into its object. (A V2 session already sends a read's publishes in one
// RPC and gathers the next ones behind it: src/v2/publishing.ts.) An RPC costs the runtime more than
// a request (measured: /ping ~12k req/s, a request making one trivial RPC ~4k); shared, /pub
// costs little more than /ping.
//
//   A: add ─ sends [a] at once ─────────────┐
//   B: add ┐ wait behind A's RPC            └─ B (first to resume) sends [b, c] ─ b, c answered
//   C: add ┘
//
// Requests may share promises but not I/O: an RPC stub belongs to the request that made it, and a
// promise settled by hand from another request may resume its waiter in the wrong one. So a
// request only ever waits on an RPC promise (the runtime resumes a request that awaits another's
// promise in its own), and sends from its own request: when the RPC ahead settles, the first
// waiting member to resume sends the oldest waiting group, whoever's it is. Every RPC is handed
// to its sender's waitUntil, so a client that goes away does not strand the others; a member that
// goes away leaves its item to be sent by the others. One RPC per key at a time, groups in order;
// a failed RPC fails exactly its group. An RPC may answer per item (a publish refused): each
// member gets its own item's answer.
import type { GroupBounds } from "./topic/group-commit";

/** What a caller brings: how to send a group from its request, and that request's waitUntil. */
export interface RelayCaller<T, R = never> {
  /** Sends the group; may resolve with an answer per item (null or absent: no answer). */
  send(group: T[]): Promise<(R | null)[] | null | void>;
  waitUntil(p: Promise<unknown>): void;
}

interface Group<T> {
  items: T[];
  count: number;
  bytes: number;
  /** The group's RPC, once sent. */
  sent: Promise<unknown> | null;
}

const answerOf = <R>(answers: unknown, i: number): R | null => (Array.isArray(answers) ? ((answers[i] as R | undefined) ?? null) : null);

/** One key's state: the RPC under way and the groups waiting behind it, oldest first. */
interface Lane<T> {
  busy: Promise<unknown> | null;
  waiting: Group<T>[];
}

const ignore = () => {};

export class PublishRelay<T, R = never> {
  private readonly lanes = new Map<string, Lane<T>>();

  constructor(private readonly bounds: GroupBounds<T>) {}

  /** Resolves once the group holding `item` was sent and its RPC resolved (with the item's answer); rejects with its error. */
  async add(key: string, item: T, caller: RelayCaller<T, R>): Promise<R | null> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { busy: null, waiting: [] }));
    const group = this.join(lane, item);
    const index = group.items.length - 1;
    for (;;) {
      if (group.sent) return answerOf<R>(await group.sent, index);
      if (lane.busy) {
        await lane.busy.then(ignore, ignore);
        continue;
      }
      this.send(key, lane, lane.waiting.shift()!, caller);
    }
  }

  /** Puts `item` in the last waiting group, or a new one when it would not fit. */
  private join(lane: Lane<T>, item: T): Group<T> {
    const count = this.bounds.count(item);
    const bytes = this.bounds.bytes(item);
    const last = lane.waiting[lane.waiting.length - 1];
    if (last && last.count + count <= this.bounds.maxCount && last.bytes + bytes <= this.bounds.maxBytes) {
      last.items.push(item);
      last.count += count;
      last.bytes += bytes;
      return last;
    }
    const group: Group<T> = { items: [item], count, bytes, sent: null };
    lane.waiting.push(group);
    return group;
  }

  private send(key: string, lane: Lane<T>, group: Group<T>, caller: RelayCaller<T, R>) {
    let sent: Promise<unknown>;
    try {
      sent = caller.send(group.items);
    } catch (e) {
      sent = Promise.reject(e);
    }
    group.sent = sent;
    lane.busy = sent;
    caller.waitUntil(sent.catch(ignore));
    const free = () => {
      if (lane.busy === sent) lane.busy = null;
      if (lane.busy === null && lane.waiting.length === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
    };
    sent.then(free, free);
  }

  /** Keys with an RPC under way or groups waiting (for tests). */
  get active(): number {
    return this.lanes.size;
  }
}
