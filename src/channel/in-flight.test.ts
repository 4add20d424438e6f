import { describe, expect, it } from "vitest";
import { InFlightTable, NOT_IN_FLIGHT, NOT_OWNER, type InFlight } from "./in-flight";

const entry = <O>(id: number, owner: O, deadline: number, deliveredAt = 0): InFlight<O> => ({
  id, owner, attempts: 1, deliveredAt, deadline, bytes: 0, ts: 0, seg: null, index: 0,
});

/** A deterministic shuffle (no Math.random in tests either). */
function shuffled(n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let x = 12345;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe("the in-flight table", () => {
  it("expires in deadline order, only what is due, and reports the next deadline", () => {
    const t = new InFlightTable<string>(1e9);
    for (const i of shuffled(200)) t.add(entry(i, "a", 1000 + i * 10));
    expect(t.size).toBe(200);
    expect(t.nextDeadline()).toBe(1000);
    const due = t.expire(1500);
    expect(due.map((m) => m.id)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(t.size).toBe(149);
    expect(t.nextDeadline()).toBe(1510);
    expect(t.expire(1505)).toEqual([]);
    expect(t.expire(Infinity).map((m) => m.id)).toEqual(Array.from({ length: 149 }, (_, i) => 51 + i));
    expect(t.nextDeadline()).toBe(Infinity);
  });

  it("orders equal deadlines by id (a batch times out segment by segment)", () => {
    const t = new InFlightTable<string>(1e9);
    for (const i of shuffled(50)) t.add(entry(100 + i, "a", 7));
    expect(t.expire(7).map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  });

  it("takes a message for its owner only, with nsqd's reasons otherwise", () => {
    const t = new InFlightTable<string>(1e9);
    t.add(entry(1, "a", 10));
    t.add(entry(2, "a", 20));
    expect(t.take("b", 1)).toBe(NOT_OWNER);
    expect(t.take("a", 3)).toBe(NOT_IN_FLIGHT);
    const m = t.take("a", 1);
    expect(typeof m === "string" ? m : m.id).toBe(1);
    expect(t.take("a", 1)).toBe(NOT_IN_FLIGHT);
    expect(t.size).toBe(1);
    // Taken out of the heap too: the next deadline is the other one's.
    expect(t.nextDeadline()).toBe(20);
    expect(t.expire(100).map((x) => x.id)).toEqual([2]);
  });

  it("keeps the heap ordered through takes from its middle", () => {
    const t = new InFlightTable<string>(1e9);
    for (const i of shuffled(300)) t.add(entry(i, "a", i));
    for (let i = 0; i < 300; i += 3) t.take("a", i);
    const left = t.expire(Infinity).map((m) => m.id);
    expect(left).toEqual(Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 0));
  });

  it("moves a deadline on TOUCH, capped by the maximum since delivery", () => {
    const t = new InFlightTable<string>(1000);
    t.add(entry(1, "a", 100, 0));
    t.add(entry(2, "a", 200, 0));
    t.add(entry(3, "a", 300, 0));
    expect(t.touch("b", 1, 500)).toBe(NOT_OWNER);
    expect(t.touch("a", 9, 500)).toBe(NOT_IN_FLIGHT);
    const m = t.touch("a", 1, 500);
    expect(typeof m === "string" ? m : m.deadline).toBe(500);
    expect(t.nextDeadline()).toBe(200);
    expect(t.expire(400).map((x) => x.id)).toEqual([2, 3]);
    const capped = t.touch("a", 1, 5000);
    expect(typeof capped === "string" ? capped : capped.deadline).toBe(1000);
    // Earlier is allowed too (a shorter msg_timeout from now).
    t.touch("a", 1, 450);
    expect(t.nextDeadline()).toBe(450);
  });

  it("removes an owner's messages in delivery order and leaves the others due as before", () => {
    const t = new InFlightTable<string>(1e9);
    for (let i = 0; i < 20; i++) t.add(entry(i, i % 2 ? "b" : "a", 100 - i));
    expect(t.removeOwner("a").map((m) => m.id)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(t.size).toBe(10);
    expect(t.take("a", 1)).toBe(NOT_OWNER);
    expect(t.expire(Infinity).map((m) => m.id)).toEqual([19, 17, 15, 13, 11, 9, 7, 5, 3, 1]);
  });

  it("skips taken messages at the top, through the heap's rebuild, and still touches what is left", () => {
    const t = new InFlightTable<string>(100_000);
    for (const id of shuffled(5000)) t.add(entry(id, "a", 1000 + id));
    // FIN in delivery order, all but a few: far more taken than in flight (the heap is rebuilt).
    for (let id = 0; id < 5000; id++) if (id % 1000 !== 999) t.take("a", id);
    expect(t.size).toBe(5);
    expect(t.nextDeadline()).toBe(1000 + 999);
    expect((t.touch("a", 999, 99_999) as InFlight<string>).deadline).toBe(99_999);
    expect(t.expire(10_000).map((m) => m.id)).toEqual([1999, 2999, 3999, 4999]);
    expect(t.take("a", 0)).toBe(NOT_IN_FLIGHT);
    expect(t.expire(100_000).map((m) => m.id)).toEqual([999]);
    expect(t.nextDeadline()).toBe(Infinity);
  });

  it("mixes in-order deliveries with out-of-order ones (a shorter msg_timeout), expiring all in deadline order", () => {
    const t = new InFlightTable<string>(1e9);
    // Consumer a: 60 s timeouts, delivered in order; consumer b: 10 s, delivered in between.
    for (let i = 0; i < 100; i++) t.add(entry(i, i % 4 === 3 ? "b" : "a", i % 4 === 3 ? 10_000 + i : 60_000 + i));
    const order = t.expire(Infinity).map((m) => m.deadline);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(order).toHaveLength(100);
  });

  it("a deadline touched away and back is expired once", () => {
    const t = new InFlightTable<string>(1e9);
    t.add(entry(1, "a", 100));
    t.add(entry(2, "a", 200));
    t.touch("a", 1, 300);
    t.touch("a", 1, 100);
    expect(t.nextDeadline()).toBe(100);
    expect(t.expire(150).map((m) => m.id)).toEqual([1]);
    expect(t.expire(Infinity).map((m) => m.id)).toEqual([2]);
  });

  it("stays right through many deliveries and FINs in delivery order (compactions)", () => {
    const t = new InFlightTable<string>(1e9);
    let next = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 500; i++, next++) t.add(entry(next, "a", next));
      // FIN all but every 97th of what is in flight, oldest first.
      for (let id = next - 500; id < next; id++) if (id % 97 !== 0) t.take("a", id);
    }
    const left = t.expire(Infinity).map((m) => m.id);
    expect(left).toEqual(Array.from({ length: next }, (_, i) => i).filter((i) => i % 97 === 0));
  });

  it("clears", () => {
    const t = new InFlightTable<string>(1e9);
    t.add(entry(1, "a", 1));
    t.clear();
    expect(t.size).toBe(0);
    expect(t.nextDeadline()).toBe(Infinity);
    expect(t.take("a", 1)).toBe(NOT_IN_FLIGHT);
  });
});
