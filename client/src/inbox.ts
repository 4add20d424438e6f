// Async iteration's side of a consumer (`for await (const msg of consumer)`): messages not yet
// taken, next() calls waiting for one, and the message the loop holds, which is finished when
// the loop asks for the next one.
import type { Message } from "./message.js";

export class Inbox {
  private buffer: Message[] = [];
  private waiters: ((r: IteratorResult<Message>) => void)[] = [];
  private current: Message | null = null;

  constructor(private readonly autoResponse: boolean) {}

  /** Hands a message to a waiting next(), or keeps it for the next one. */
  deliver(m: Message) {
    const w = this.waiters.shift();
    if (w) w(this.hand(m));
    else this.buffer.push(m);
  }

  /** The loop's next(): finishes the message it held, then the next message, or waits for one. */
  next(closing: boolean): Promise<IteratorResult<Message>> {
    const held = this.current;
    this.current = null;
    if (held && this.autoResponse && !held.isAutoResponseDisabled) held.finish();
    const m = this.buffer.shift();
    if (m) return Promise.resolve(this.hand(m));
    if (closing) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The loop was left (break, return, throw): the message it held goes back unless answered. */
  leave() {
    const m = this.current;
    this.current = null;
    if (m && !m.hasResponded && !m.isAutoResponseDisabled) m.requeue(0, false);
  }

  /** The messages nobody took yet, removed. */
  take(): Message[] {
    return this.buffer.splice(0);
  }

  /** Closing: waiting next() calls end the loop. */
  end() {
    for (const w of this.waiters.splice(0)) w({ done: true, value: undefined });
  }

  private hand(m: Message): IteratorResult<Message> {
    this.current = m;
    return { done: false, value: m };
  }
}
