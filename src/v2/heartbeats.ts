// nsqd's heartbeats: every interval the server sends _heartbeat_; a client that has sent nothing
// across two of them is gone (nsqd's read deadline is twice the interval). The timer comes in,
// so a test drives it by hand.

/** setInterval and clearInterval, or a fake. */
export interface IntervalTimer {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export class Heartbeats {
  /** Heartbeats sent since the client last sent anything. */
  private unanswered = 0;
  private handle: unknown = null;

  constructor(
    private readonly timer: IntervalTimer,
    /** Send one heartbeat. */
    private readonly beat: () => void,
    /** The client missed two: drop it. */
    private readonly gone: () => void,
  ) {}

  /** (Re)starts at this interval; 0 or less: no heartbeats. */
  start(intervalMs: number) {
    this.stop();
    if (intervalMs <= 0) return;
    this.handle = this.timer.setInterval(() => this.tick(), intervalMs);
  }

  /** The client sent something. */
  heard() {
    this.unanswered = 0;
  }

  stop() {
    if (this.handle !== null) this.timer.clearInterval(this.handle);
    this.handle = null;
  }

  private tick() {
    if (this.unanswered >= 2) return this.gone();
    this.unanswered++;
    this.beat();
  }
}
