import { describe, expect, it } from "vitest";
import { Heartbeats, type IntervalTimer } from "./heartbeats";

/** A timer driven by hand: tick() runs the interval's callback once. */
class FakeTimer implements IntervalTimer {
  intervals: number[] = [];
  private fn: (() => void) | null = null;
  setInterval(fn: () => void, ms: number) {
    this.fn = fn;
    this.intervals.push(ms);
    return this.intervals.length;
  }
  clearInterval() {
    this.fn = null;
  }
  get running() {
    return this.fn !== null;
  }
  tick() {
    this.fn?.();
  }
}

function setup() {
  const timer = new FakeTimer();
  const seen: string[] = [];
  const hb = new Heartbeats(timer, () => seen.push("beat"), () => seen.push("gone"));
  return { timer, seen, hb };
}

describe("Heartbeats", () => {
  it("beats every interval and drops a client that sent nothing across two", () => {
    const { timer, seen, hb } = setup();
    hb.start(30_000);
    expect(timer.intervals).toEqual([30_000]);
    timer.tick();
    timer.tick();
    expect(seen).toEqual(["beat", "beat"]);
    timer.tick();
    expect(seen).toEqual(["beat", "beat", "gone"]);
  });

  it("keeps a client that sends anything between them", () => {
    const { timer, seen, hb } = setup();
    hb.start(1000);
    for (let i = 0; i < 5; i++) {
      timer.tick();
      timer.tick();
      hb.heard();
    }
    expect(seen).toEqual(Array(10).fill("beat"));
  });

  it("restarts at a new interval (IDENTIFY), and 0 means none", () => {
    const { timer, hb } = setup();
    hb.start(30_000);
    hb.start(1000);
    expect(timer.intervals).toEqual([30_000, 1000]);
    expect(timer.running).toBe(true);
    hb.start(0);
    expect(timer.running).toBe(false);
    expect(timer.intervals).toEqual([30_000, 1000]);
  });

  it("stop() ends them", () => {
    const { timer, seen, hb } = setup();
    hb.start(1000);
    hb.stop();
    timer.tick();
    expect(seen).toEqual([]);
  });
});
