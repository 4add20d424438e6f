// Flow control under failure and load: go-nsq's backoff (RDY 0, one test message, resume) and
// 10,000 messages through one Consumer with maxInFlight 200.
import { afterEach, expect, it } from "vitest";
import { Consumer, Producer } from "@nsq-edge/client";
import { eventually, expectReady, serviceUrl, unique } from "./helpers";
import { recorder } from "./sockets";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => {});
});

it("backs off after failures: RDY 0, then RDY 1 to test, up a level per failure, down per success, then full RDY", async () => {
  const topic = unique("backoff");
  const p = new Producer(serviceUrl());
  closers.push(() => p.close());
  await p.publish(topic, "a");

  const rec = recorder();
  const unit = 300;
  const deliveries: { body: string; attempts: number; at: number }[] = [];
  const events: string[] = [];
  let failures = 0;
  const c = new Consumer(topic, "ch", {
    url: serviceUrl(),
    connect: rec.connect,
    maxInFlight: 5,
    backoffMultiplier: unit, // level n waits unit × 2^n
    defaultRequeueDelay: 0,
    handler: (m) => {
      deliveries.push({ body: m.text(), attempts: m.attempts, at: Date.now() });
      if (failures < 2) {
        failures++;
        throw new Error("downstream unavailable");
      }
    },
  });
  closers.push(() => c.close(2000));
  c.on("backoff", (ms, level) => void events.push(`backoff ${ms} level ${level}`));
  c.on("resume", () => void events.push("resume"));

  // Failure 1 → level 1 (600 ms); test message fails → level 2 (1200 ms): meanwhile RDY is 0.
  await eventually(() => expect(events).toEqual(["backoff 600 level 1", "backoff 1200 level 2"]), 5000, 10);
  await expectReady(serviceUrl(), topic, "ch", [0], 1000);
  // The third delivery succeeds → level 1 again (one more test round before full speed).
  await eventually(() => expect(deliveries.length).toBe(3), 5000, 10);
  await eventually(() => expect(events.length).toBe(3), 2000, 10);
  expect(events[2]).toBe("backoff 600 level 1");
  expect(c.stats().backoffLevel).toBe(1);
  await p.publish(topic, "b"); // delivered on the next RDY 1: success → level 0 → full RDY
  await eventually(() => expect(events.at(-1)).toBe("resume"), 5000, 10);
  await expectReady(serviceUrl(), topic, "ch", [5]);

  expect(deliveries.map((d) => `${d.body}#${d.attempts}`)).toEqual(["a#1", "a#2", "a#3", "b#1"]);
  // Each redelivery waited for its backoff (the server had it ready at once: REQ delay 0).
  expect(deliveries[1].at - deliveries[0].at).toBeGreaterThanOrEqual(600 - 50);
  expect(deliveries[2].at - deliveries[1].at).toBeGreaterThanOrEqual(1200 - 50);
  expect(deliveries[3].at - deliveries[2].at).toBeGreaterThanOrEqual(600 - 50);
  expect(rec.lines().filter((l) => l.startsWith("RDY"))).toEqual(["RDY 5", "RDY 0", "RDY 1", "RDY 0", "RDY 1", "RDY 0", "RDY 1", "RDY 5"]);
});

it("a requeue without backoff does not slow the consumer down", async () => {
  const topic = unique("nobackoff");
  const p = new Producer(serviceUrl());
  closers.push(() => p.close());
  await p.mpublish(topic, ["a", "b", "c"]);
  const rec = recorder();
  const seen: string[] = [];
  const c = new Consumer(topic, "ch", {
    url: serviceUrl(),
    connect: rec.connect,
    maxInFlight: 3,
    handler: (m) => {
      seen.push(`${m.text()}#${m.attempts}`);
      if (m.attempts === 1) m.requeue(0, false);
    },
  });
  closers.push(() => c.close(2000));
  await eventually(() => expect(seen.length).toBe(6));
  expect(rec.lines().filter((l) => l.startsWith("RDY"))).toEqual(["RDY 3"]);
  expect(c.stats()).toMatchObject({ backoffLevel: 0, messagesRequeued: 3, messagesFinished: 3 });
});

it("10,000 messages through one Consumer with maxInFlight 200", async () => {
  const topic = unique("load");
  const total = 10_000;
  const p = new Producer(serviceUrl());
  closers.push(() => p.close());
  const seen = new Set<string>();
  let duplicates = 0;
  let maxInFlight = 0;
  const c = new Consumer(topic, "ch", { url: serviceUrl(), maxInFlight: 200, lookupdPollInterval: 200 });
  closers.push(() => c.close(5000));
  c.on("message", async (m) => {
    maxInFlight = Math.max(maxInFlight, c.stats().inFlight);
    const body = m.text();
    if (seen.has(body)) duplicates++;
    seen.add(body);
    if (seen.size % 7 === 0) await new Promise((r) => setTimeout(r, 1)); // some handlers are async
  });

  const t0 = Date.now();
  // 20 MPUBs of 500, issued together: one WebSocket message.
  const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 500 }, (_, i) => `msg-${b * 500 + i}`));
  await Promise.all(batches.map((bodies) => p.mpublish(topic, bodies)));
  const published = Date.now();
  await c.ready();
  await eventually(() => expect(seen.size).toBe(total), 90_000, 100);
  const consumed = Date.now();
  await eventually(() => expect(c.stats().messagesFinished).toBeGreaterThanOrEqual(total));
  console.log(
    `10,000 messages: published in ${published - t0} ms, consumed in ${consumed - published} ms ` +
      `(${Math.round(total / ((consumed - published) / 1000))}/s), max in flight ${maxInFlight}, duplicates ${duplicates}`,
  );
  expect(maxInFlight).toBeLessThanOrEqual(200);
  expect(duplicates).toBe(0);
  await eventually(async () => {
    const stats = (await fetch(`${serviceUrl()}/stats?format=json&topic=${topic}`).then((r) => r.json())) as any;
    expect(stats.topics[0].channels[0]).toMatchObject({ depth: 0, in_flight_count: 0 });
  });
});

it("a sharded topic (8 shards): one Consumer with maxInFlight 3 gets every message, never more than 3 at once", async () => {
  const topic = unique("sharded");
  expect((await fetch(`${serviceUrl()}/topic/create?topic=${topic}&shards=8`, { method: "POST" })).status).toBe(200);
  const p = new Producer(serviceUrl());
  closers.push(() => p.close());
  const bodies = Array.from({ length: 400 }, (_, i) => `s${i}`);
  await Promise.all(bodies.slice(0, 100).map((b) => p.publish(topic, b)));
  for (let i = 100; i < 400; i += 50) await p.mpublish(topic, bodies.slice(i, i + 50));
  const seen = new Set<string>();
  let inFlight = 0;
  let most = 0;
  const c = new Consumer(topic, "ch", {
    url: serviceUrl(),
    maxInFlight: 3,
    handler: async (m) => {
      inFlight++;
      most = Math.max(most, inFlight);
      seen.add(m.text());
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
    },
  });
  closers.push(() => c.close(2000));
  await eventually(() => expect(seen.size).toBe(400), 30_000);
  expect(most).toBeLessThanOrEqual(3);
});
