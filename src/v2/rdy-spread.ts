// One connection's RDY spread over the links to a sharded topic's channel objects (one per
// shard), so that the client never has more messages in flight than its RDY, whatever the
// number of shards, and no shard starves when RDY is below it (go-nsq meets the same problem
// across nsqd nodes: it hands RDY 1 to some connections and moves it now and then).
//
// RDY R over n links: with R ≥ n every link gets its share (R / n, the remainder to the first);
// with R < n, R links hold RDY 1 and pass it on: a holder with nothing in flight passes it after
// TURN_MS, or after IDLE_MS without a message, to the next link in turn.
//
// The invariant: Σ max(granted_i, inFlight_i) ≤ R, where granted_i is the most RDY link i's
// channel may be acting on: a lowered RDY counts at its old value until the channel has
// acknowledged it (a message it sent before reading the new value may still be on its way,
// and the link is ordered, so the acknowledgement comes after it). Raising waits until the
// invariant allows it. In flight counts a delivery until its FIN or REQ, its link closing, or
// its deadline (msg_timeout, renewed by TOUCH) plus a margin: the channel times it out first.

/** A holder of RDY 1 (R < n) with nothing in flight passes it on after this long... */
export const TURN_MS = 100;
/** ...or after this long without a message. */
export const IDLE_MS = 50;
/** In flight is counted this long past a message's deadline: the channel times it out first. */
export const TIMEOUT_MARGIN_MS = 1000;

/** A RDY to send to a link, whose channel acknowledges it. */
export interface RdyCommand {
  link: number;
  count: number;
}

interface LinkState {
  /** The RDY last sent. */
  rdy: number;
  /** In flight without an id known here (adopted from a single link): FINs of unknown ids go to link 0. */
  unknown: number;
  /** Sent and not yet acknowledged, oldest first. */
  unacked: number[];
  /** The last acknowledged RDY. */
  acked: number;
  inFlight: number;
  /** When it got RDY 1 (token mode), and when it last delivered. */
  since: number;
  lastMessage: number;
}

export class RdySpread {
  private ready = 0;
  private readonly links: LinkState[];
  /** In flight: message id -> link and deadline (ms). */
  private readonly flying = new Map<string, { link: number; deadline: number }>();
  /** Token mode: where the search for the next holder starts. */
  private turn = 0;
  /** Token mode: the links that are to hold RDY 1. */
  private readonly holders = new Set<number>();
  /** Links of drained shards: never given RDY. */
  private readonly gone = new Set<number>();
  /**
   * Every link has its share (RDY ≥ live links) and got it: a FIN cannot change the plan (shares
   * depend on nothing in flight), so it is not made again per message. Anything else re-plans.
   */
  private settled = false;

  readonly n!: number;

  constructor(n: number) {
    this.links = [];
    this.grow(n);
  }

  /** More shards: links n.. join, holding nothing. */
  grow(n: number) {
    this.settled = false;
    while (this.links.length < n) this.links.push({ rdy: 0, unknown: 0, unacked: [], acked: 0, inFlight: 0, since: 0, lastMessage: 0 });
    (this as { n: number }).n = n;
  }

  /**
   * Link 0 was the connection's only link (the topic had one shard): it keeps the RDY it had,
   * and what it has in flight (the channel's count, acknowledged) is counted without ids.
   */
  adopt(rdy: number, inFlight: number) {
    this.settled = false;
    const l = this.links[0]!;
    l.rdy = l.acked = rdy;
    l.inFlight = l.unknown = inFlight;
    this.ready = rdy;
  }

  /** The most the channel of `link` may be acting on. */
  private granted(l: LinkState): number {
    let g = l.acked;
    for (const v of l.unacked) if (v > g) g = v;
    return g;
  }

  private load(skip = -1): number {
    let sum = 0;
    for (let i = 0; i < this.n; i++) if (i !== skip) sum += Math.max(this.granted(this.links[i]!), this.links[i]!.inFlight);
    return sum;
  }

  /** Total in flight as counted here (for tests and /stats). */
  get inFlight(): number {
    let sum = 0;
    for (const l of this.links) sum += l.inFlight;
    return sum;
  }

  /** The client's RDY, planned on the next event. */
  setReadyLater(count: number) {
    this.ready = count;
  }

  /** The client's RDY. */
  setReady(count: number, now: number): RdyCommand[] {
    this.ready = count;
    return this.plan(now);
  }

  /** A message came from `link`; it times out at `deadline` (ms). */
  delivered(link: number, id: string, now: number, deadline: number) {
    const l = this.links[link]!;
    l.inFlight++;
    l.lastMessage = now;
    this.flying.set(id, { link, deadline: deadline + TIMEOUT_MARGIN_MS });
  }

  /** The link a message in flight came from, or -1. */
  linkOf(id: string): number {
    return this.flying.get(id)?.link ?? -1;
  }

  /** FIN or REQ of a message in flight: it leaves. Returns its link, or -1 if unknown here. */
  finished(id: string, now: number): { link: number; rdy: RdyCommand[] } {
    const f = this.flying.get(id);
    if (!f) {
      // One of those adopted without ids: they came from link 0.
      const l0 = this.links[0]!;
      if (l0.unknown === 0) return { link: -1, rdy: [] };
      l0.unknown--;
      l0.inFlight--;
      return { link: 0, rdy: this.plan(now) };
    }
    this.flying.delete(id);
    this.links[f.link]!.inFlight--;
    return { link: f.link, rdy: this.settled ? [] : this.plan(now) };
  }

  /** TOUCH: the message's deadline moves. */
  touched(id: string, deadline: number) {
    const f = this.flying.get(id);
    if (f) f.deadline = deadline + TIMEOUT_MARGIN_MS;
  }

  /**
   * The channel of `link` acknowledged the RDY `count` (acknowledgements come in order), with
   * `channelInFlight` messages of the link in flight there: those without an id here (adopted,
   * or timed out there while counted here) are set from it.
   */
  acked(link: number, count: number, now: number, channelInFlight?: number): RdyCommand[] {
    const l = this.links[link]!;
    while (l.unacked.length && l.unacked[0] !== count) l.unacked.shift();
    l.unacked.shift();
    l.acked = count;
    if (channelInFlight !== undefined && l.unknown > 0) {
      const known = l.inFlight - l.unknown;
      l.unknown = Math.min(l.unknown, Math.max(0, channelInFlight - known));
      l.inFlight = known + l.unknown;
    }
    return this.plan(now);
  }

  /** A link's shard was drained and deleted: it gets no RDY again. */
  retire(link: number) {
    this.closed(link);
    this.gone.add(link);
    this.holders.delete(link);
    this.links[link]!.rdy = 0;
  }

  retired(link: number): boolean {
    return this.gone.has(link);
  }

  /** A link closed: what it had in flight is no longer the client's. */
  closed(link: number) {
    this.settled = false;
    for (const [id, f] of this.flying) if (f.link === link) this.flying.delete(id);
    const l = this.links[link]!;
    l.inFlight = 0;
    l.unknown = 0;
    l.unacked.length = 0;
    l.acked = 0;
  }

  /** Time passes: deadlines expire, RDY 1 moves on. */
  tick(now: number): RdyCommand[] {
    for (const [id, f] of this.flying) {
      if (f.deadline <= now) {
        this.flying.delete(id);
        this.links[f.link]!.inFlight--;
      }
    }
    return this.plan(now);
  }

  /** What each link should have, and the RDYs that move toward it within the invariant. */
  private plan(now: number): RdyCommand[] {
    const targets = this.live === 0 ? this.links.map(() => 0) : this.ready >= this.live ? this.shares() : this.tokens(now);
    const out: RdyCommand[] = [];
    this.settled = this.live > 0 && this.ready >= this.live;
    // Lowering first: always allowed, and it frees room (once acknowledged) for raising.
    for (let i = 0; i < this.n; i++) if (targets[i]! < this.links[i]!.rdy) this.send(i, targets[i]!, out);
    for (let i = 0; i < this.n; i++) {
      const l = this.links[i]!;
      const t = targets[i]!;
      if (t <= l.rdy) continue;
      // Raise as far as the invariant allows now; the rest on a later event.
      const room = this.ready - this.load(i);
      const allowed = Math.min(t, Math.max(room, 0));
      if (allowed > l.rdy && Math.max(allowed, l.inFlight) <= Math.max(room, 0)) this.send(i, allowed, out);
      if (l.rdy < t) this.settled = false;
    }
    return out;
  }

  private send(i: number, count: number, out: RdyCommand[]) {
    const l = this.links[i]!;
    l.rdy = count;
    l.unacked.push(count);
    out.push({ link: i, count });
  }

  /** The links that may hold RDY (not drained away). */
  private get live(): number {
    return this.n - this.gone.size;
  }

  /** R ≥ live links: every live link its share. */
  private shares(): number[] {
    this.holders.clear();
    const live = this.live;
    const base = Math.floor(this.ready / live);
    const extra = this.ready % live;
    let k = 0;
    return this.links.map((_, i) => (this.gone.has(i) ? 0 : base + (k++ < extra ? 1 : 0)));
  }

  /** R < n: R links hold RDY 1, passing it on in turn. */
  private tokens(now: number): number[] {
    // A holder with nothing in flight that has had its turn, or no messages, passes it on.
    for (const h of [...this.holders]) {
      const l = this.links[h]!;
      if (l.inFlight > 0 || this.holders.size > this.ready) continue;
      const idle = now - l.since >= IDLE_MS && l.lastMessage < l.since;
      if (now - l.since >= TURN_MS || idle) {
        if (this.holders.size >= this.live) break;
        this.holders.delete(h);
        this.take(now, h);
      }
    }
    // RDY lowered: fewer holders, those with nothing in flight first.
    if (this.holders.size > this.ready) {
      const order = [...this.holders].sort((a, b) => this.links[a]!.inFlight - this.links[b]!.inFlight);
      for (const h of order) {
        if (this.holders.size <= this.ready) break;
        this.holders.delete(h);
      }
    }
    while (this.holders.size < Math.min(this.ready, this.live)) this.take(now, -1);
    return this.links.map((_, i) => (this.holders.has(i) ? 1 : 0));
  }

  /** The next link in turn that holds nothing (not `except`) becomes a holder. */
  private take(now: number, except: number) {
    for (let k = 0; k < this.n; k++) {
      const i = (this.turn + k) % this.n;
      if (i === except || this.holders.has(i) || this.gone.has(i)) continue;
      this.holders.add(i);
      const l = this.links[i]!;
      l.since = now;
      l.lastMessage = -Infinity;
      this.turn = (i + 1) % this.n;
      return;
    }
    if (except >= 0) this.holders.add(except);
  }
}
