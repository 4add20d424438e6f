// The fair share of a pump's messages over the consumers with spare RDY.
//
// Water-filling with a rotation: every consumer with spare RDY gets min(spare, level), the
// highest level the messages cover; the few left over (fewer than the consumers with more spare
// than the level) go one each to those consumers in turn order, starting after the one that took
// the last left-over message. So every message taken is placed, and the bound is: while a
// consumer has spare RDY, no other consumer is served in two pumps before it is served once (a
// pump serves it, or serves only consumers between the rotation cursor and it, and the cursor
// stops before it). When every pump finds all K consumers with equal spare, this is exact
// rotation: over N messages each gets floor(N/K) or ceil(N/K).
//
//   share.begin(); share.add(spare, turn) for each consumer in turn order
//   take n <= share.capacity messages; share.plan(n)
//   for k < share.count: i = share.at(k); give share.of(i) messages to consumer i

const ascending = (a: number, b: number) => a - b;

export class FairShare {
  /** The last turn that took a left-over message: the rotation starts after it. */
  lastTurn = 0;
  count = 0;
  capacity = 0;
  private spares: number[] = [];
  private turns: number[] = [];
  private sorted: number[] = [];
  private least = Infinity;
  private most = 0;
  private start = -1;
  private level = 0;
  private extra = 0;

  begin() {
    this.count = this.capacity = this.most = 0;
    this.least = Infinity;
    this.start = -1;
  }

  /** A consumer with spare RDY (> 0), in turn order. */
  add(spare: number, turn: number) {
    if (this.start < 0 && turn > this.lastTurn) this.start = this.count;
    this.spares[this.count] = spare;
    this.turns[this.count] = turn;
    this.count++;
    this.capacity += spare;
    if (spare < this.least) this.least = spare;
    if (spare > this.most) this.most = spare;
  }

  /** Shares out n messages (n <= capacity). */
  plan(n: number) {
    let level = this.most;
    let covered = this.capacity;
    if (n < this.capacity) {
      if (this.least === this.most) {
        level = Math.floor(n / this.count);
        covered = level * this.count;
      } else {
        // The largest level L with sum(min(spare, L)) <= n, from the spares in ascending order.
        const spares = this.sorted;
        spares.length = 0;
        for (let i = 0; i < this.count; i++) spares.push(this.spares[i]);
        spares.sort(ascending);
        let below = 0;
        for (let i = 0; i < spares.length; i++) {
          const left = spares.length - i;
          if (below + spares[i] * left > n) {
            level = Math.floor((n - below) / left);
            covered = below + level * left;
            break;
          }
          below += spares[i];
        }
      }
    }
    this.level = level;
    this.extra = n - covered;
    if (this.start < 0) this.start = 0;
  }

  /** The consumer (index in add order) served k-th. */
  at(k: number): number {
    return (this.start + k) % this.count;
  }

  /** Consumer i's share, taking a left-over message if one is due to it: call once per consumer, in at() order. */
  of(i: number): number {
    const spare = this.spares[i];
    let share = spare < this.level ? spare : this.level;
    if (this.extra > 0 && spare > this.level) {
      share++;
      this.extra--;
      this.lastTurn = this.turns[i];
    }
    return share;
  }
}
