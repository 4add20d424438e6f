// The pure pieces: URLs from service and lookup answers, error parsing, backoff arithmetic and
// the backoff state machine (with fake timers).
import { afterEach, describe, expect, it, vi } from "vitest";
import { NsqError, exponentialBackoff, lookupUrl, producerSocketUrl, serviceSocketUrl } from "@nsq-edge/client";
import { BackoffController, reconnectDelay } from "../../client/src/backoff";

describe("URLs", () => {
  it("lookup and V2 endpoints under a service URL, with its scheme and path prefix", () => {
    expect(lookupUrl("http://127.0.0.1:4151", "a#ephemeral")).toBe("http://127.0.0.1:4151/lookup?topic=a%23ephemeral");
    expect(lookupUrl("https://x.example/nsq/", "t")).toBe("https://x.example/nsq/lookup?topic=t");
    expect(lookupUrl("wss://x.example/ws", "t")).toBe("https://x.example/lookup?topic=t");
    expect(serviceSocketUrl("https://x.example")).toBe("wss://x.example/ws");
    expect(serviceSocketUrl("http://h:8080/p")).toBe("ws://h:8080/p/ws");
  });

  it("a producer's URL from broadcast_address and http_port", () => {
    const p = (broadcast_address: string, http_port: number) => ({ broadcast_address, http_port });
    expect(producerSocketUrl("http://127.0.0.1:4151", p("127.0.0.1", 4151))).toBe("ws://127.0.0.1:4151/ws");
    expect(producerSocketUrl("https://lookup.example", p("nsq.example", 443))).toBe("wss://nsq.example/ws");
    expect(producerSocketUrl("https://lookup.example", p("nsq.example", 8443))).toBe("wss://nsq.example:8443/ws");
    expect(producerSocketUrl("http://lookup.example/prefix", p("nsq.example", 80))).toBe("ws://nsq.example/prefix/ws");
    expect(producerSocketUrl("http://lookup.example", p("::1", 4151))).toBe("ws://[::1]:4151/ws");
  });
});

it("NsqError: code, description, fatal", () => {
  const e = new NsqError('E_BAD_TOPIC PUB topic name "x!" is not valid');
  expect([e.code, e.description, e.fatal, e.message]).toEqual(["E_BAD_TOPIC", 'PUB topic name "x!" is not valid', true, 'E_BAD_TOPIC PUB topic name "x!" is not valid']);
  expect(new NsqError("E_FIN_FAILED FIN 0123 failed").fatal).toBe(false);
  expect(new NsqError("E_INVALID").description).toBe("");
});

describe("backoff", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("exponential durations with a cap; reconnect delays jittered within [d/2, d]", () => {
    expect([1, 2, 3, 8].map((n) => exponentialBackoff(n, 1000, 120_000))).toEqual([2000, 4000, 8000, 120_000]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const d = Math.min(500 * 2 ** attempt, 30_000);
      expect(reconnectDelay(attempt, 500, 30_000, () => 0)).toBe(d / 2);
      expect(reconnectDelay(attempt, 500, 30_000, () => 0.999999)).toBeCloseTo(d, -1);
    }
  });

  it("the state machine: ignores outcomes during a timeout, tests with one, stops at the maximum", () => {
    vi.useFakeTimers();
    const log: string[] = [];
    const b = new BackoffController(100, 400, {
      pause: (ms, level) => void log.push(`pause ${ms} ${level}`),
      test: () => (log.push("test"), true),
      resume: () => void log.push("resume"),
    });
    b.signal("success"); // nothing to recover from
    expect(log).toEqual([]);
    b.signal("failure");
    b.signal("failure"); // ignored: the 200 ms timeout runs
    expect([log, b.level, b.waiting]).toEqual([["pause 200 1"], 1, true]);
    vi.advanceTimersByTime(200);
    expect(log.at(-1)).toBe("test");
    b.signal("failure");
    expect(log.at(-1)).toBe("pause 400 2");
    vi.advanceTimersByTime(400);
    b.signal("failure"); // 800 would pass the 400 maximum: level stays, backoff continues
    expect([log.at(-1), b.level]).toEqual(["pause 400 2", 2]);
    vi.advanceTimersByTime(400);
    b.signal("success");
    expect([log.at(-1), b.level]).toEqual(["pause 200 1", 1]);
    vi.advanceTimersByTime(200);
    b.signal("continue"); // a requeue without backoff keeps the level and waits again
    expect([log.at(-1), b.level]).toEqual(["pause 200 1", 1]);
    vi.advanceTimersByTime(200);
    b.signal("success");
    expect([log.at(-1), b.level, b.active]).toEqual(["resume", 0, false]);
  });

  it("maxBackoffDuration 0 disables backoff", () => {
    const log: string[] = [];
    const b = new BackoffController(1000, 0, { pause: () => void log.push("pause"), test: () => true, resume: () => void log.push("resume") });
    b.signal("failure");
    expect([log, b.active]).toEqual([[], false]);
  });
});
