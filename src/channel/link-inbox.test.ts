import { describe, expect, it } from "vitest";
import { LinkInbox, MAX_EARLY } from "./link-inbox";

const rec = (n: number) => new Uint8Array([n & 0xff, n >> 8]);
const num = (r: Uint8Array) => r[0] | (r[1] << 8);

/** What runs, in order, as messages arrive in `order`. */
function run(inbox: LinkInbox, order: number[]): number[] {
  const ran: number[] = [];
  for (const seq of order) {
    for (let r = inbox.arrive(seq, rec(seq)); r !== null; r = inbox.next()) ran.push(num(r));
  }
  return ran;
}

describe("the link inbox", () => {
  it("runs messages that arrive in order at once", () => {
    expect(run(new LinkInbox(), [0, 1, 2, 3])).toEqual([0, 1, 2, 3]);
  });

  it("holds a message that arrives ahead of a gap until the gap fills", () => {
    const inbox = new LinkInbox();
    expect(run(inbox, [0, 2, 3])).toEqual([0]);
    expect(inbox.held).toBe(2);
    expect(run(inbox, [1])).toEqual([1, 2, 3]);
    expect(inbox.held).toBe(0);
    expect(run(new LinkInbox(), [3, 1, 2, 0, 5, 4])).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("after a wake, takes the first message to arrive as the start", () => {
    const inbox = new LinkInbox(null);
    expect(run(inbox, [7, 9, 8])).toEqual([7, 8, 9]);
  });

  it("runs a message below the next one at once (nothing waits for it)", () => {
    const inbox = new LinkInbox();
    expect(run(inbox, [0, 1, 3])).toEqual([0, 1]);
    expect(run(inbox, [0])).toEqual([0]);
    expect(run(inbox, [2])).toEqual([2, 3]);
  });

  it("stops waiting for a gap once MAX_EARLY messages are held", () => {
    const inbox = new LinkInbox();
    // Message 0 never comes: 1..MAX_EARLY are held.
    const ahead = Array.from({ length: MAX_EARLY }, (_, i) => 1 + i);
    expect(run(inbox, ahead)).toEqual([]);
    expect(inbox.held).toBe(MAX_EARLY);
    // One more: the gap is given up, and all of them run in order.
    expect(run(inbox, [MAX_EARLY + 1])).toEqual([...ahead, MAX_EARLY + 1]);
    expect(inbox.held).toBe(0);
    // Then in order again from there.
    expect(run(inbox, [MAX_EARLY + 3, MAX_EARLY + 2])).toEqual([MAX_EARLY + 2, MAX_EARLY + 3]);
  });

  it("past a second gap while full, gives up only up to it", () => {
    const inbox = new LinkInbox();
    // 0 never comes; 1..MAX_EARLY-1 and MAX_EARLY+5 are held, MAX_EARLY..MAX_EARLY+4 have not come.
    const ahead = Array.from({ length: MAX_EARLY - 1 }, (_, i) => 1 + i);
    expect(run(inbox, [...ahead, MAX_EARLY + 5])).toEqual([]);
    expect(run(inbox, [MAX_EARLY + 6])).toEqual(ahead);
    expect(inbox.held).toBe(2);
    expect(run(inbox, [MAX_EARLY, MAX_EARLY + 1, MAX_EARLY + 2, MAX_EARLY + 3, MAX_EARLY + 4])).toEqual(
      Array.from({ length: 7 }, (_, i) => MAX_EARLY + i),
    );
  });
});
