// A consumer's reconnection timers, one per producer URL: a jittered delay that doubles with
// each failed attempt (reconnectDelay) and starts over once the producer is connected again.
import { reconnectDelay } from "./backoff.js";

export class Reconnects {
  private entries = new Map<string, { attempt: number; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(
    private readonly firstDelay: number,
    private readonly maxDelay: number,
  ) {}

  /** True while a reconnect to `url` is waiting for its delay. */
  waiting(url: string): boolean {
    return !!this.entries.get(url)?.timer;
  }

  /** Runs `attempt` after the url's next delay, unless one is waiting already. */
  schedule(url: string, attempt: () => void) {
    const r = this.entries.get(url) ?? { attempt: 0, timer: null };
    if (r.timer) return;
    const delay = reconnectDelay(r.attempt, this.firstDelay, this.maxDelay);
    r.attempt++;
    r.timer = setTimeout(() => {
      r.timer = null;
      attempt();
    }, delay);
    this.entries.set(url, r);
  }

  /** Connected, or no longer wanted: the next failure starts from the first delay. */
  forget(url: string) {
    const r = this.entries.get(url);
    if (r?.timer) clearTimeout(r.timer);
    this.entries.delete(url);
  }

  stop() {
    for (const r of this.entries.values()) if (r.timer) clearTimeout(r.timer);
    this.entries.clear();
  }
}
