// The pure pieces: URLs from service and lookup answers, error parsing, backoff arithmetic,
// the backoff state machine (with fake timers), the consumer's settings and iteration inbox.
import { afterEach, describe, expect, it, vi } from "vitest";
import { NsqError, exponentialBackoff, lookupUrl, producerSocketUrl, serviceSocketUrl } from "@nsq-edge/client";
import { BackoffController, reconnectDelay } from "../../client/src/backoff";
import { channelSocketUrl } from "../../client/src/lookup";
import { consumerSettings } from "../../client/src/consumer-options";
import { Inbox } from "../../client/src/inbox";
import { Message } from "../../client/src/message";

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

  it("a consumer's URL names its channel (the service then serves it from the channel's object)", () => {
    expect(channelSocketUrl("wss://x.example/ws", "orders", "billing#ephemeral")).toBe("wss://x.example/ws?topic=orders&channel=billing%23ephemeral");
    expect(channelSocketUrl("ws://h:8080/p/ws?x=1&topic=old", "t", "c")).toBe("ws://h:8080/p/ws?x=1&topic=t&channel=c");
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

describe("consumer settings", () => {
  it("go-nsq's defaults, and every option given wins, 0 and false included", () => {
    expect(consumerSettings({})).toMatchObject({ maxInFlight: 1, maxAttempts: 5, backoffMultiplier: 1000, autoResponse: true, closeTimeout: 30_000 });
    const given = consumerSettings({ maxInFlight: 0, maxAttempts: 0, maxBackoffDuration: 0, lookupdPollJitter: 0, autoResponse: false, closeTimeout: 7 });
    expect(given).toMatchObject({ maxInFlight: 0, maxAttempts: 0, maxBackoffDuration: 0, lookupdPollJitter: 0, autoResponse: false, closeTimeout: 7 });
    expect(given.reconnectDelay).toBe(1000);
  });
});

describe("iteration inbox", () => {
  const answers: string[] = [];
  const delegate = {
    finish: (m: Message) => void answers.push(`FIN ${m.id}`),
    requeue: (m: Message, delay: number | undefined) => void answers.push(`REQ ${m.id} ${delay}`),
    touch: () => {},
  };
  const message = (id: string) => new Message({ id, body: new Uint8Array(), attempts: 1, timestamp: 0n }, "ws://x/ws", delegate);
  afterEach(() => void answers.splice(0));

  it("hands messages in order, waits when there is none, and finishes the one held when the loop asks again", async () => {
    const inbox = new Inbox(true);
    inbox.deliver(message("a"));
    expect((await inbox.next(false)).value.id).toBe("a");
    const waiting = inbox.next(false); // finishes a, then waits
    expect(answers).toEqual(["FIN a"]);
    inbox.deliver(message("b"));
    expect((await waiting).value.id).toBe("b");
    inbox.leave(); // the loop was left holding b: it goes back
    expect(answers).toEqual(["FIN a", "REQ b 0"]);
  });

  it("without autoResponse nothing is finished; closing ends waiting loops and gives back what nobody took", async () => {
    const inbox = new Inbox(false);
    inbox.deliver(message("a"));
    await inbox.next(false);
    const waiting = inbox.next(false);
    expect(answers).toEqual([]);
    inbox.end();
    expect(await waiting).toEqual({ done: true, value: undefined });
    inbox.deliver(message("c"));
    expect(inbox.take().map((m) => m.id)).toEqual(["c"]);
    expect(await inbox.next(true)).toEqual({ done: true, value: undefined });
  });
});
