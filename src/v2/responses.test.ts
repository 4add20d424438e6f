import { describe, expect, it } from "vitest";
import { ResponseQueue } from "./responses";

const bytes = (...b: number[]) => new Uint8Array(b);
const list = (out: Uint8Array | null) => (out ? [...out] : null);

describe("ResponseQueue", () => {
  it("releases a response known at once, alone, as it is", () => {
    const q = new ResponseQueue();
    const data = bytes(1, 2);
    q.add(data);
    expect(q.release()).toBe(data);
    expect(q.release()).toBeNull();
  });

  it("holds what follows a pending slot until it is filled, then releases all in order, in one buffer", () => {
    const q = new ResponseQueue();
    const pending = q.reserve();
    q.add(bytes(2));
    q.add(bytes(3));
    expect(q.release()).toBeNull();
    q.fill(pending, bytes(1));
    expect(list(q.release())).toEqual([1, 2, 3]);
    expect(q.release()).toBeNull();
  });

  it("releases up to the first pending slot only", () => {
    const q = new ResponseQueue();
    const a = q.reserve();
    const b = q.reserve();
    q.add(bytes(3));
    q.fill(b, bytes(2));
    expect(q.release()).toBeNull();
    q.fill(a, bytes(1));
    expect(list(q.release())).toEqual([1, 2, 3]);
  });

  it("a slot filled with no data is released without bytes", () => {
    const q = new ResponseQueue();
    const a = q.reserve();
    q.add(bytes(2));
    q.fill(a, null);
    expect(list(q.release())).toEqual([2]);
  });

  it("a closing response stops reading at once, ends the queue once released, and drops what follows", () => {
    const q = new ResponseQueue();
    const pending = q.reserve();
    q.add(bytes(9), true);
    expect(q.stopping).toBe(true);
    expect(q.ended).toBe(false);
    q.add(bytes(10));
    expect(q.release()).toBeNull();
    q.fill(pending, bytes(1));
    expect(list(q.release())).toEqual([1, 9]);
    expect(q.ended).toBe(true);
    q.add(bytes(11));
    q.fill(q.reserve(), bytes(12));
    expect(q.release()).toBeNull();
  });

  it("a pending slot filled as closing (a failed publish) ends the queue; later slots are never sent", () => {
    const q = new ResponseQueue();
    const a = q.reserve();
    const b = q.reserve();
    q.fill(b, bytes(2));
    q.fill(a, bytes(1), true);
    expect(q.stopping).toBe(true);
    expect(list(q.release())).toEqual([1]);
    expect(q.ended).toBe(true);
    expect(q.release()).toBeNull();
  });

  it("a silent close (nsqd's overlong line) releases what came before it, then ends", () => {
    const q = new ResponseQueue();
    q.add(bytes(1));
    q.add(null, true);
    expect(list(q.release())).toEqual([1]);
    expect(q.ended).toBe(true);
  });
});
