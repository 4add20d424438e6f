// Backoff, as go-nsq does it: after a failure the consumer stops all flow (RDY 0), waits an
// exponentially growing time, then lets one message through (RDY 1 on one connection) to test
// the waters. A success steps the level down, a failure up; leaving level 0 restores full RDY.
// While a backoff timeout runs, outcomes are ignored (one result per timeout counts).

/** go-nsq's ExponentialStrategy: multiplier × 2^level, capped at the maximum. */
export function exponentialBackoff(level: number, multiplier: number, max: number): number {
  return Math.min(multiplier * 2 ** level, max);
}

/** A reconnect delay: exponential in the attempt, capped, with jitter (half fixed, half random). */
export function reconnectDelay(attempt: number, base: number, max: number, random = Math.random): number {
  const d = Math.min(base * 2 ** Math.min(attempt, 30), max);
  return Math.round(d / 2 + random() * (d / 2));
}

export type Outcome = "success" | "failure" | "continue";

export interface BackoffActions {
  /** Backoff starts or continues for `ms`: send RDY 0 on every connection. */
  pause(ms: number, level: number): void;
  /** The timeout expired: send RDY 1 on one connection; false if there is none. */
  test(): boolean;
  /** Backoff is over: give every connection its full RDY share again. */
  resume(): void;
}

export class BackoffController {
  /** Consecutive failures not yet made up for by successes (go-nsq's backoffCounter). */
  level = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly multiplier: number,
    private readonly max: number,
    private readonly actions: BackoffActions,
  ) {}

  /** In backoff: RDY is 0, or 1 while testing. */
  get active(): boolean {
    return this.level > 0 || this.timer !== null;
  }

  /** The timeout is running: no RDY at all. */
  get waiting(): boolean {
    return this.timer !== null;
  }

  /** One message's outcome: FIN (success), REQ with backoff (failure), REQ without (continue). */
  signal(outcome: Outcome) {
    if (this.timer !== null) return;
    let updated = false;
    if (outcome === "success" && this.level > 0) {
      this.level--;
      updated = true;
    } else if (outcome === "failure" && this.max > 0 && exponentialBackoff(this.level + 1, this.multiplier, Infinity) <= this.max) {
      this.level++;
      updated = true;
    }
    if (this.level === 0) {
      if (updated) this.actions.resume();
      return;
    }
    const ms = exponentialBackoff(this.level, this.multiplier, this.max);
    this.actions.pause(ms, this.level);
    this.wait(ms);
  }

  private wait(ms: number) {
    this.timer = setTimeout(() => {
      this.timer = null;
      // No connection to test on: try again in a second, as go-nsq.
      if (!this.actions.test()) this.wait(1000);
    }, ms);
  }

  stop() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
