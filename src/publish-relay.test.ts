import { describe, expect, it } from "vitest";
import { PublishRelay, type RelayCaller } from "./publish-relay";
import type { GroupBounds } from "./topic/group-commit";

/** Items are message counts; each message is 10 bytes. */
const bounds = (maxCount: number): GroupBounds<number> => ({
  maxCount,
  maxBytes: 1 << 20,
  count: (n) => n,
  bytes: (n) => n * 10,
});

/** Every RPC any caller sent: its sender, its group, and how to settle it. */
function rpcs() {
  const sent: { by: string; group: number[]; resolve(): void; reject(e: unknown): void }[] = [];
  const kept: { by: string; p: Promise<unknown> }[] = [];
  const caller = (by: string): RelayCaller<number> => ({
    send: (group) =>
      new Promise<void>((resolve, reject) => {
        sent.push({ by, group: [...group], resolve, reject });
      }),
    waitUntil: (p) => kept.push({ by, p }),
  });
  return { sent, kept, caller };
}

const tick = () => new Promise((r) => setImmediate(r));

function track(promises: Promise<unknown>[]) {
  const state: string[] = promises.map(() => "pending");
  promises.forEach((p, i) => p.then(() => (state[i] = "ok"), (e) => (state[i] = String(e.message))));
  return state;
}

describe("PublishRelay", () => {
  it("sends the first publish at once and those arriving meanwhile together, in order, after it", async () => {
    const r = rpcs();
    const relay = new PublishRelay(bounds(100));
    const p = [relay.add("t", 1, r.caller("a"))];
    await tick();
    expect(r.sent.map((s) => s.group)).toEqual([[1]]);
    p.push(relay.add("t", 2, r.caller("b")), relay.add("t", 3, r.caller("c")), relay.add("t", 4, r.caller("d")));
    const state = track(p);
    await tick();
    // One RPC per key at a time: the others wait behind it.
    expect(r.sent).toHaveLength(1);
    r.sent[0]!.resolve();
    await tick();
    expect(state).toEqual(["ok", "pending", "pending", "pending"]);
    // The next group goes out from one of its own members' requests.
    expect(r.sent.map((s) => [s.by, s.group])).toEqual([["a", [1]], ["b", [2, 3, 4]]]);
    r.sent[1]!.resolve();
    await tick();
    expect(state).toEqual(["ok", "ok", "ok", "ok"]);
    expect(relay.active).toBe(0);
  });

  it("hands every RPC to its sender's waitUntil, so that it outlives a client that went away", async () => {
    const r = rpcs();
    const relay = new PublishRelay(bounds(100));
    const p = [relay.add("t", 1, r.caller("a")), relay.add("t", 2, r.caller("b"))];
    await tick();
    r.sent[0]!.resolve();
    await tick();
    r.sent[1]!.resolve();
    await Promise.all(p);
    expect(r.kept.map((k) => k.by)).toEqual(["a", "b"]);
  });

  it("fails exactly the group whose RPC failed; the next group still goes", async () => {
    const r = rpcs();
    const relay = new PublishRelay(bounds(100));
    const p = [relay.add("t", 1, r.caller("a"))];
    await tick();
    p.push(relay.add("t", 2, r.caller("b")), relay.add("t", 3, r.caller("c")));
    const state = track(p);
    r.sent[0]!.reject(new Error("down"));
    await tick();
    expect(state).toEqual(["down", "pending", "pending"]);
    r.sent[1]!.resolve();
    await tick();
    expect(state).toEqual(["down", "ok", "ok"]);
  });

  it("a send that throws fails its group and frees the key", async () => {
    const relay = new PublishRelay(bounds(100));
    const bad: RelayCaller<number> = {
      send: () => {
        throw new Error("no stub");
      },
      waitUntil: () => {},
    };
    await expect(relay.add("t", 1, bad)).rejects.toThrow("no stub");
    await tick();
    expect(relay.active).toBe(0);
    const r = rpcs();
    const ok = relay.add("t", 2, r.caller("a"));
    await tick();
    r.sent[0]!.resolve();
    await ok;
  });

  it("keeps groups within the bounds, oldest first, one RPC at a time", async () => {
    const r = rpcs();
    const relay = new PublishRelay(bounds(5));
    const p = [relay.add("t", 1, r.caller("a"))];
    await tick();
    for (const [n, by] of [[3, "b"], [2, "c"], [4, "d"], [9, "e"], [1, "f"]] as const) p.push(relay.add("t", n, r.caller(by)));
    for (let i = 0; i < 10 && r.sent.length < 5; i++) {
      r.sent[r.sent.length - 1]!.resolve();
      await tick();
    }
    // A publish larger than the bound still goes, alone.
    expect(r.sent.map((s) => s.group)).toEqual([[1], [3, 2], [4], [9], [1]]);
    r.sent[4]!.resolve();
    await Promise.all(p);
  });

  it("keys do not wait for each other", async () => {
    const r = rpcs();
    const relay = new PublishRelay(bounds(100));
    const a = relay.add("t1", 1, r.caller("a"));
    const b = relay.add("t2", 2, r.caller("b"));
    await tick();
    expect(r.sent.map((s) => s.group)).toEqual([[1], [2]]);
    r.sent[1]!.resolve();
    await b;
    r.sent[0]!.resolve();
    await a;
  });

  it("gives each member its own item's answer from the group's RPC", async () => {
    const relay = new PublishRelay<number, string>(bounds(100));
    let answer: (v: (string | null)[]) => void = () => {};
    const caller: RelayCaller<number, string> = {
      send: () => new Promise((resolve) => (answer = resolve)),
      waitUntil: () => {},
    };
    const first = relay.add("t", 1, caller);
    await tick();
    answer([null]);
    expect(await first).toBeNull();
    // Two members share the next RPC: the second was refused, the first was not.
    const hold = relay.add("t", 5, caller);
    await tick();
    const b = relay.add("t", 2, caller);
    const c = relay.add("t", 3, caller);
    answer([null]);
    await hold;
    await tick();
    answer([null, "QUEUE_FULL"]);
    expect(await b).toBeNull();
    expect(await c).toBe("QUEUE_FULL");
  });
});
