// A session's publishes on their way to the topics. The publishes of one read (one WebSocket
// message) to one topic with one delay form one group. Each topic and delay has a group commit
// (src/group-commit.ts): while its publish RPC is under way, later groups gather behind it and
// leave together, within GROUP_MAX_BYTES, when it settles: fewer, larger RPCs under load, and
// messages stored in the order they came.
//
// A failed RPC fails its publishes, and nothing gathered after it is sent: its error closes the
// connection. Pure: the RPC and what to do with each settled publish come in as hooks.
import { GroupCommit } from "../group-commit";

/** A publish RPC carries at most this much (beyond its first group). */
export const GROUP_MAX_BYTES = 4 * 1024 * 1024;

/** One publish in a group: its response slot and its verb (for the error's code). */
export interface Pending<S> {
  slot: S;
  verb: string;
}

interface Group<S> {
  bodies: Uint8Array[];
  bytes: number;
  pending: Pending<S>[];
}

export interface PublishHooks<S> {
  /** The topic's publish RPC: settles once the messages are stored (or not). */
  publish(topic: string, bodies: Uint8Array[], deferMs: number): Promise<unknown>;
  /** A group was stored: its publishes, in order. */
  stored(pending: Pending<S>[]): void;
  /** A group failed. */
  failed(pending: Pending<S>[], error: unknown): void;
}

const BOUNDS = {
  maxCount: Infinity,
  maxBytes: GROUP_MAX_BYTES,
  count: () => 1,
  bytes: (g: Group<unknown>) => g.bytes,
};

export class Publisher<S> {
  /** This read's publishes, per topic and delay; dispatch() sends them. */
  private readonly gathered = new Map<string, { topic: string; deferMs: number; group: Group<S> }>();
  /** Per topic and delay: the publishes under way and those gathering behind them. */
  private readonly commits = new Map<string, GroupCommit<Group<S>>>();
  /** A publish failed, or the connection closed: send nothing more. */
  private halted = false;

  constructor(private readonly hooks: PublishHooks<S>) {}

  /** Adds one PUB, DPUB (one body) or MPUB (its bodies) to this read's group for its topic. */
  add(verb: string, topic: string, deferMs: number, bodies: Uint8Array | Uint8Array[], slot: S) {
    const key = `${topic}\n${deferMs}`;
    let entry = this.gathered.get(key);
    if (!entry) this.gathered.set(key, (entry = { topic, deferMs, group: { bodies: [], bytes: 0, pending: [] } }));
    const g = entry.group;
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

  /** The read is done: each of its groups goes, or gathers behind its topic's RPC under way. */
  dispatch() {
    if (this.gathered.size === 0) return;
    for (const [key, { topic, deferMs, group }] of this.gathered) {
      let commit = this.commits.get(key);
      if (!commit) {
        commit = new GroupCommit<Group<S>>((groups) => this.send(topic, deferMs, groups), BOUNDS);
        this.commits.set(key, commit);
      }
      // Settled through the hooks; the group commit's own promise carries nothing more.
      commit.add(group).catch(() => {});
    }
    this.gathered.clear();
  }

  /** The connection closed: what waits is dropped; RPCs under way still settle. */
  stop() {
    this.halted = true;
  }

  private async send(topic: string, deferMs: number, groups: Group<S>[]): Promise<void> {
    // Publishes read before a fatal protocol error are still carried out and answered (its
    // error waits behind them); after a failed publish or a close nothing more is sent.
    if (this.halted) return;
    const one = groups.length === 1 ? groups[0] : null;
    const bodies = one ? one.bodies : groups.flatMap((g) => g.bodies);
    const pending = one ? one.pending : groups.flatMap((g) => g.pending);
    try {
      await this.hooks.publish(topic, bodies, deferMs);
    } catch (e) {
      this.halted = true;
      this.hooks.failed(pending, e);
      return;
    }
    this.hooks.stored(pending);
  }
}
