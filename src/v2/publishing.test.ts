import { describe, expect, it } from "vitest";
import { GROUP_MAX_BYTES, Publisher, type Pending } from "./publishing";

interface Call {
  topic: string;
  bodies: string[];
  deferMs: number;
  resolve(): void;
  reject(e: Error): void;
}

/** A Publisher whose RPCs wait to be settled by hand, recording what each carried. */
function setup() {
  const calls: Call[] = [];
  const events: string[] = [];
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const slots = (pending: Pending<string>[]) => pending.map((p) => p.slot).join(",");
  const p = new Publisher<string>({
    publish(topic, bodies, deferMs) {
      return new Promise<null>((resolve, reject) => {
        calls.push({ topic, bodies: bodies.map(text), deferMs, resolve: () => resolve(null), reject });
      });
    },
    stored: (pending) => events.push(`stored ${slots(pending)}`),
    failed: (pending, e) => events.push(`failed ${slots(pending)} ${(e as Error).message} ${pending.map((x) => x.verb)}`),
  });
  const body = (s: string) => new TextEncoder().encode(s);
  return { p, calls, events, body };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("Publisher", () => {
  it("sends one read's publishes to one topic and delay in one RPC, in order; other topics and delays apart", () => {
    const { p, calls, body } = setup();
    p.add("PUB", "a", 0, body("1"), "s1");
    p.add("MPUB", "a", 0, [body("2"), body("3")], "s2");
    p.add("PUB", "b", 0, body("4"), "s3");
    p.add("DPUB", "a", 500, body("5"), "s4");
    expect(calls).toEqual([]);
    p.dispatch();
    expect(calls.map((c) => [c.topic, c.deferMs, c.bodies])).toEqual([
      ["a", 0, ["1", "2", "3"]],
      ["b", 0, ["4"]],
      ["a", 500, ["5"]],
    ]);
  });

  it("reports a stored group's slots in order", async () => {
    const { p, calls, events, body } = setup();
    p.add("PUB", "a", 0, body("1"), "s1");
    p.add("PUB", "a", 0, body("2"), "s2");
    p.dispatch();
    calls[0].resolve();
    await settle();
    expect(events).toEqual(["stored s1,s2"]);
  });

  it("gathers later reads behind the RPC under way and sends them together when it settles", async () => {
    const { p, calls, events, body } = setup();
    p.add("PUB", "a", 0, body("1"), "s1");
    p.dispatch();
    p.add("PUB", "a", 0, body("2"), "s2");
    p.dispatch();
    p.add("MPUB", "a", 0, [body("3"), body("4")], "s3");
    p.dispatch();
    expect(calls.length).toBe(1);
    calls[0].resolve();
    await settle();
    expect(events).toEqual(["stored s1"]);
    expect(calls.map((c) => c.bodies)).toEqual([["1"], ["2", "3", "4"]]);
    calls[1].resolve();
    await settle();
    expect(events).toEqual(["stored s1", "stored s2,s3"]);
    // Nothing under way any more: the next read goes at once.
    p.add("PUB", "a", 0, body("5"), "s4");
    p.dispatch();
    expect(calls.length).toBe(3);
  });

  it("an RPC to one topic does not hold back another topic's", () => {
    const { p, calls, body } = setup();
    p.add("PUB", "a", 0, body("1"), "s1");
    p.dispatch();
    p.add("PUB", "b", 0, body("2"), "s2");
    p.dispatch();
    expect(calls.map((c) => c.topic)).toEqual(["a", "b"]);
  });

  it("a group gathering behind an RPC holds at most GROUP_MAX_BYTES: what would not fit goes out at once", async () => {
    const { p, calls, body } = setup();
    const half = "x".repeat(GROUP_MAX_BYTES / 2);
    p.add("PUB", "a", 0, body("1"), "s1");
    p.dispatch();
    p.add("PUB", "a", 0, body(half), "s2");
    p.dispatch();
    p.add("PUB", "a", 0, body(half), "s3");
    p.dispatch();
    expect(calls.length).toBe(1);
    p.add("PUB", "a", 0, body("2"), "s4");
    p.dispatch();
    expect(calls.map((c) => c.bodies.map((b) => b.length))).toEqual([[1], [1]]);
    calls[0].resolve();
    await settle();
    expect(calls[2].bodies.map((b) => b.length)).toEqual([half.length, half.length]);
  });

  it("a failed RPC fails its publishes, with their verbs, and nothing gathered behind it is sent", async () => {
    const { p, calls, events, body } = setup();
    p.add("PUB", "a", 0, body("1"), "s1");
    p.add("MPUB", "a", 0, [body("2")], "s2");
    p.dispatch();
    p.add("PUB", "a", 0, body("3"), "s3");
    p.dispatch();
    calls[0].reject(new Error("boom"));
    await settle();
    expect(events).toEqual(["failed s1,s2 boom PUB,MPUB"]);
    expect(calls.length).toBe(1);
  });

  it("after stop() (the connection closed), what waits is dropped; the RPC under way still reports", async () => {
    const { p, calls, events, body } = setup();
    p.add("PUB", "a", 0, body("1"), "s1");
    p.dispatch();
    p.add("PUB", "a", 0, body("2"), "s2");
    p.dispatch();
    p.stop();
    calls[0].resolve();
    await settle();
    expect(events).toEqual(["stored s1"]);
    expect(calls.length).toBe(1);
  });
});
