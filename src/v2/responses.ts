// A connection's responses, in command order. nsqd answers each command before it reads the
// next; here a publish's OK waits for its topic and a SUB's for its channel, while later commands
// are read and answered at once. So every response takes a slot in order, and a slot is released
// only when every slot before it is: what follows a pending publish waits behind it.
//
// A closing slot (a fatal error, or nsqd's silent close after an overlong line) ends the queue:
// nothing after it is released, and the connection closes once it is sent. Pure: the session
// sends what release() returns.
import { concatAll } from "../protocol/commands";
import { responseFrame } from "../protocol/frames";

export const OK = responseFrame("OK");

export interface Slot {
  /** The frames to send; null for none (a silent close). */
  data: Uint8Array | null;
  done: boolean;
  close: boolean;
}

export class ResponseQueue {
  private slots: Slot[] = [];
  /** A closing response is queued: like nsqd after a fatal error, read nothing more. */
  stopping = false;
  /** The closing response has been released: close the connection once it is sent. */
  ended = false;

  /** A response known now. */
  add(data: Uint8Array | null, close = false) {
    if (close) this.stopping = true;
    if (!this.ended) this.slots.push({ data, done: true, close });
  }

  /** A place for a response that comes later, filled with fill(). */
  reserve(): Slot {
    const slot: Slot = { data: null, done: false, close: false };
    if (!this.ended) this.slots.push(slot);
    return slot;
  }

  fill(slot: Slot, data: Uint8Array | null, close = false) {
    if (close) this.stopping = true;
    slot.data = data;
    slot.done = true;
    slot.close = close;
  }

  /** Every settled response at the head, in order, joined into one buffer; null if none. */
  release(): Uint8Array | null {
    let first: Uint8Array | null = null;
    let more: Uint8Array[] | null = null;
    while (this.slots.length && this.slots[0].done) {
      const s = this.slots.shift()!;
      if (s.data) {
        if (first === null) first = s.data;
        else (more ??= [first]).push(s.data);
      }
      if (s.close) {
        this.ended = true;
        this.slots = [];
        break;
      }
    }
    return more ? concatAll(more) : first;
  }
}
