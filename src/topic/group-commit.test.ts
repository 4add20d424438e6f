import { describe, expect, it } from "vitest";
import { GroupCommit, type GroupBounds } from "./group-commit";

/** Items are arrays of message sizes: count is their number, bytes their sum. */
const bounds = (maxCount: number, maxBytes: number): GroupBounds<number[]> => ({
  maxCount,
  maxBytes,
  count: (m) => m.length,
  bytes: (m) => m.reduce((a, b) => a + b, 0),
});

/** A flush the test settles by hand; records every group it was given. */
function manualFlush() {
  const groups: number[][][] = [];
  const settle: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  const flush = (group: number[][]) => {
    groups.push(group);
    return new Promise<void>((resolve, reject) => settle.push({ resolve, reject }));
  };
  return { groups, settle, flush };
}

const tick = () => new Promise((r) => setImmediate(r));

/** The state of each promise: "pending", "ok" or the rejection's message. */
function track(promises: Promise<void>[]) {
  const state: string[] = promises.map(() => "pending");
  promises.forEach((p, i) => p.then(() => (state[i] = "ok"), (e) => (state[i] = String(e.message))));
  return state;
}

describe("GroupCommit", () => {
  it("flushes the first item at once and gathers later ones into the next group, in order", async () => {
    const f = manualFlush();
    const gc = new GroupCommit(f.flush, bounds(100, 1000));
    const p = [gc.add([1])];
    // Synchronously: the first group is under way before add() returns.
    expect(f.groups).toEqual([[[1]]]);
    p.push(gc.add([2]), gc.add([3, 3]), gc.add([4]));
    expect(gc.pending).toBe(3);
    const state = track(p);
    f.settle[0].resolve();
    await tick();
    expect(state).toEqual(["ok", "pending", "pending", "pending"]);
    expect(f.groups).toEqual([[[1]], [[2], [3, 3], [4]]]);
    f.settle[1].resolve();
    await tick();
    expect(state).toEqual(["ok", "ok", "ok", "ok"]);
    expect(f.groups).toHaveLength(2);
  });

  it("puts items that arrive during a flush into the next group, not the running one", async () => {
    const f = manualFlush();
    const gc = new GroupCommit(f.flush, bounds(100, 1000));
    const p = [gc.add([1]), gc.add([2])];
    f.settle[0].resolve();
    await tick();
    expect(f.groups).toEqual([[[1]], [[2]]]);
    p.push(gc.add([3]));
    expect(f.groups).toHaveLength(2);
    f.settle[1].resolve();
    await tick();
    expect(f.groups).toEqual([[[1]], [[2]], [[3]]]);
    f.settle[2].resolve();
    await Promise.all(p);
  });

  it("keeps a group within the count and byte bounds, and takes an oversized item alone", async () => {
    const f = manualFlush();
    const gc = new GroupCommit(f.flush, bounds(3, 10));
    const p = [gc.add([1]), gc.add([1, 1]), gc.add([1, 1]), gc.add([9]), gc.add([2]), gc.add([50, 50, 50, 50]), gc.add([1])];
    for (let i = 0; i < 7; i++) {
      f.settle[i].resolve();
      await tick();
    }
    await Promise.all(p);
    // [1] goes at once; [1,1] + [1,1] would be 4 messages; [1,1] + [9] 11 bytes; [9] + [2] 11
    // bytes; [2] + four messages 5; four messages of 200 bytes go alone.
    expect(f.groups).toEqual([[[1]], [[1, 1]], [[1, 1]], [[9]], [[2]], [[50, 50, 50, 50]], [[1]]]);
  });

  it("groups up to the bounds exactly", async () => {
    const f = manualFlush();
    const gc = new GroupCommit(f.flush, bounds(4, 100));
    const p = [gc.add([1]), gc.add([1, 1]), gc.add([1, 1]), gc.add([1])];
    f.settle[0].resolve();
    await tick();
    expect(f.groups[1]).toEqual([[1, 1], [1, 1]]);
    f.settle[1].resolve();
    await tick();
    f.settle[2].resolve();
    await Promise.all(p);
    expect(f.groups).toEqual([[[1]], [[1, 1], [1, 1]], [[1]]]);
  });

  it("rejects exactly the items of a failed group, and goes on with the next", async () => {
    const f = manualFlush();
    const gc = new GroupCommit(f.flush, bounds(100, 1000));
    const first = gc.add([1]);
    const failing = [gc.add([2]), gc.add([3])];
    const state = track([first, ...failing]);
    f.settle[0].resolve();
    await tick();
    const later = gc.add([4]);
    const laterState = track([later]);
    f.settle[1].reject(new Error("disk full"));
    await tick();
    expect(state).toEqual(["ok", "disk full", "disk full"]);
    expect(f.groups[2]).toEqual([[4]]);
    f.settle[2].resolve();
    await tick();
    expect(laterState).toEqual(["ok"]);
  });

  it("takes a flush that throws synchronously as a failure of its group", async () => {
    const groups: number[][][] = [];
    const gc = new GroupCommit<number[]>((g) => {
      groups.push(g);
      if (g[0][0] === 1) throw new Error("bad");
    }, bounds(100, 1000));
    const state = track([gc.add([1]), gc.add([2])]);
    await tick();
    expect(state).toEqual(["bad", "ok"]);
    expect(groups).toEqual([[[1]], [[2]]]);
  });

  it("rejectPending rejects what waits, while the group under way settles as its flush does", async () => {
    const f = manualFlush();
    const gc = new GroupCommit(f.flush, bounds(100, 1000));
    const state = track([gc.add([1]), gc.add([2]), gc.add([3])]);
    gc.rejectPending(new Error("exiting"));
    expect(gc.pending).toBe(0);
    await tick();
    expect(state).toEqual(["pending", "exiting", "exiting"]);
    f.settle[0].resolve();
    await tick();
    expect(state).toEqual(["ok", "exiting", "exiting"]);
    expect(f.groups).toHaveLength(1);
    // Later items start a new run.
    const next = gc.add([4]);
    expect(f.groups).toEqual([[[1]], [[4]]]);
    f.settle[1].resolve();
    await next;
  });
});
