// A session's publishes on their way to the topics. The publishes of one read (one WebSocket
// message) to one topic with one delay go in one RPC. While that RPC is under way, later
// publishes to it gather behind it and leave together when it settles: fewer, larger RPCs under
// load, and messages stored in the order they came. A gathering group holds at most
// GROUP_MAX_BYTES; a group that would not fit goes out at once, beside it.
//
// A failed RPC fails its publishes, and nothing gathered after it is sent: its error closes the
// connection. Pure: the RPC and what to do with each settled publish come in as hooks.
//
// Not the topic's GroupCommit (src/topic/group-commit.ts), though the idea is the same: built on
// it (a promise per read, groups joined at flush, an overflow held for the next round instead of
// sent beside it) pipelined PUBs measured 12% slower (206k-212k vs 180k-186k msgs/s, A/B in one
// sitting), so this one merges into one growing group and sends what would not fit at once.

import type { PublishAnswer, PublishUnit } from "../objects";

/** A publish RPC carries at most this much; more goes out in parallel. */
export const GROUP_MAX_BYTES = 4 * 1024 * 1024;

/** One publish in a group: its response slot and its verb (for the error's code). */
export interface Pending<S> {
  slot: S;
  verb: string;
}

interface Group<S> {
  key: string;
  topic: string;
  /** A sharded topic's key (all of the group's messages have it), or undefined. */
  shardKey?: string;
  deferMs: number;
  bodies: Uint8Array[];
  bytes: number;
  pending: Pending<S>[];
  /** Per publish (as pending): its messages and idempotency key. */
  units: PublishUnit[];
}

export interface PublishHooks<S> {
  /** The topic's publish RPC: settles once the messages are stored (or not). */
  publish(topic: string, bodies: Uint8Array[], deferMs: number, shardKey: string | undefined, units: PublishUnit[]): Promise<PublishAnswer>;
  /** A group was stored: its publishes, in order, and per publish a refusal's code if any (the answer's). */
  stored(pending: Pending<S>[], answer: PublishAnswer): void;
  /** A group failed. */
  failed(pending: Pending<S>[], error: unknown): void;
}

export class Publisher<S> {
  /** This read's publishes, per topic and delay; dispatch() sends them. */
  private readonly gathered = new Map<string, Group<S>>();
  /** Topics (and delays) with an RPC under way -> the group gathering behind it, if any. */
  private readonly underWay = new Map<string, Group<S> | null>();
  /** A publish failed, or the connection closed: send nothing more. */
  private halted = false;

  constructor(private readonly hooks: PublishHooks<S>) {}

  /** Adds one PUB, DPUB (one body) or MPUB (its bodies) to this read's group for its topic. */
  add(verb: string, topic: string, deferMs: number, bodies: Uint8Array | Uint8Array[], slot: S, shardKey?: string, idempotencyKey?: string) {
    const key = shardKey === undefined ? `${topic}\n${deferMs}` : `${topic}\n${deferMs}\n${shardKey}`;
    let g = this.gathered.get(key);
    if (!g) this.gathered.set(key, (g = { key, topic, shardKey, deferMs, bodies: [], bytes: 0, pending: [], units: [] }));
    const n = bodies instanceof Uint8Array ? 1 : bodies.length;
    g.units.push(idempotencyKey === undefined ? { n } : { n, key: idempotencyKey });
    if (bodies instanceof Uint8Array) {
      g.bodies.push(bodies);
      g.bytes += bodies.length;
    } else {
      for (const b of bodies) {
        g.bodies.push(b);
        g.bytes += b.length;
      }
    }
    g.pending.push({ slot, verb });
  }

  /** The read is done: sends each of its groups, or gathers it behind its topic's RPC. */
  dispatch() {
    if (this.gathered.size === 0) return;
    for (const g of this.gathered.values()) this.enqueue(g);
    this.gathered.clear();
  }

  /** The connection closed: what waits is dropped; RPCs under way still settle. */
  stop() {
    this.halted = true;
  }

  private enqueue(g: Group<S>) {
    if (this.underWay.has(g.key)) {
      const next = this.underWay.get(g.key);
      if (!next) this.underWay.set(g.key, g);
      else if (next.bytes + g.bytes <= GROUP_MAX_BYTES) {
        for (const b of g.bodies) next.bodies.push(b);
        for (const p of g.pending) next.pending.push(p);
        for (const u of g.units) next.units.push(u);
        next.bytes += g.bytes;
      } else this.send(g);
      return;
    }
    this.underWay.set(g.key, null);
    this.send(g).finally(() => {
      const next = this.underWay.get(g.key);
      this.underWay.delete(g.key);
      // Publishes read before a fatal protocol error are still carried out and answered (its
      // error waits behind them); after a failed publish nothing more is sent.
      if (next && !this.halted) this.enqueue(next);
    });
  }

  private send(g: Group<S>): Promise<void> {
    return this.hooks.publish(g.topic, g.bodies, g.deferMs, g.shardKey, g.units).then(
      (answer) => this.hooks.stored(g.pending, answer),
      (e) => {
        this.halted = true;
        this.hooks.failed(g.pending, e);
      },
    );
  }
}
