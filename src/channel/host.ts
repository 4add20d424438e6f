// What a ChannelQueue asks of the runtime around it: the clock, randomness, the consumers'
// connections and timers. The channel's Durable Object is the one host; a unit test can be another.
import type { Ready } from "./window";

export interface ChannelHost<C> {
  now(): number;
  /** Uniform in [0, 1) (sample_rate). */
  random(): number;
  /** Sends msgs[from, to) on `conn`, each with attempts + 1; false when the connection is gone. */
  send(conn: C, msgs: readonly Ready[], from: number, to: number): boolean;
  /** Call timeouts() by `at` (a call due earlier may stay: it comes back here when it runs). */
  timeoutsAt(at: number): void;
  cancelTimeouts(): void;
  /** Call flushAcks() in `ms`. */
  flushAcksIn(ms: number): void;
  cancelFlushAcks(): void;
  /** The durable alarm: call alarm() at `at`. */
  setAlarm(at: number): void;
  /** Messages were buried: hand them to the dead-letter topic (deadLetters(), then buried()). */
  deadLetters(): void;
}
