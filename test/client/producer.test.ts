// Producer: PUB, MPUB and DPUB settled by the server's answer, in command order, coalesced into
// few WebSocket messages; typed errors; close() after the pending publishes.
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, ConnectionError, Consumer, NsqError, Producer, type Message } from "@nsq-edge/client";
import { freePort } from "../e2e/service";
import { eventually, serviceUrl, unique } from "./helpers";
import { recorder } from "./sockets";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => {});
});

function producer(opts: ConstructorParameters<typeof Producer>[1] = {}) {
  const p = new Producer(serviceUrl(), opts);
  closers.push(() => p.close());
  return p;
}

/** Consumes `n` messages of a new channel (created before the publishes, to get all of them). */
async function collect(topic: string, opts: ConstructorParameters<typeof Consumer>[2] = {}) {
  const got: Message[] = [];
  const c = new Consumer(topic, "ch", { url: serviceUrl(), maxInFlight: 100, lookupdPollInterval: 200, ...opts });
  c.on("message", (m) => {
    got.push(m);
  });
  closers.push(() => c.close());
  return { consumer: c, got };
}

async function topicDepth(topic: string): Promise<number> {
  const stats = (await fetch(`${serviceUrl()}/stats?format=json&topic=${topic}`).then((r) => r.json())) as any;
  return stats.topics[0]?.depth ?? 0;
}

describe("Producer", () => {
  it("publishes with PUB, MPUB and DPUB; each promise resolves on the server's OK", async () => {
    const topic = unique("pub");
    const p = producer();
    await p.publish(topic, "one");
    await p.mpublish(topic, ["two", new TextEncoder().encode("three"), new TextEncoder().encode("four").buffer]);
    await p.dpublish(topic, "five", 0);
    const { got } = await collect(topic);
    await eventually(() => expect(got.map((m) => m.text()).sort()).toEqual(["five", "four", "one", "three", "two"]));
  });

  it("DPUB delivers no sooner than the delay", async () => {
    const topic = unique("dpub");
    const p = producer();
    const { consumer, got } = await collect(topic);
    await p.publish(topic, "now"); // creates the topic, so the consumer finds it
    await consumer.ready();
    await eventually(() => expect(got.length).toBe(1));
    const sent = Date.now();
    await p.dpublish(topic, "later", 800);
    await eventually(() => expect(got.length).toBe(2), 5000, 20);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(750);
    expect(got[1].text()).toBe("later");
  });

  it("settles publishes in command order and coalesces a burst into few WebSocket messages", async () => {
    const topics = [unique("order-a"), unique("order-b"), unique("order-c")];
    const rec = recorder();
    const p = producer({ connect: rec.connect });
    await p.connect();
    const settled: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const topic = topics[i % 3];
      const pr = i % 10 === 0 ? p.mpublish(topic, [`m${i}a`, `m${i}b`]) : p.publish(topic, `m${i}`);
      all.push(pr.then(() => void settled.push(i)));
    }
    expect(p.pending).toBe(300);
    await Promise.all(all);
    expect(settled).toEqual([...Array(300).keys()]);
    // One socket; the magic + IDENTIFY, then the 300 publishes in one WebSocket message.
    expect(rec.sockets.length).toBe(1);
    expect(rec.sockets[0].sent.length).toBe(2);
    // 270 PUBs and 30 MPUBs of two: 330 messages, waiting in the topics (no channel yet).
    const depths = await Promise.all(topics.map((t) => topicDepth(t)));
    expect(depths.reduce((a, b) => a + b)).toBe(330);
  });

  it("rejects with a typed NsqError: the server's E_BAD_TOPIC and E_BAD_MESSAGE", async () => {
    const p = producer();
    const bad = await p.publish("bad!topic", "x").catch((e) => e);
    expect(bad).toBeInstanceOf(NsqError);
    expect(bad.code).toBe("E_BAD_TOPIC");
    expect(bad.description).toBe('PUB topic name "bad!topic" is not valid');
    expect(bad.fatal).toBe(true);
    // The server closed that connection; the next publish opens another.
    const topic = unique("after-error");
    await p.publish(topic, "fine");
    const mbad = await p.mpublish("x".repeat(65), ["a"]).catch((e) => e);
    expect(mbad).toMatchObject({ code: "E_BAD_TOPIC" });
    const empty = await p.publish(topic, "").catch((e) => e);
    expect(empty).toBeInstanceOf(NsqError);
    expect(empty.code).toBe("E_BAD_MESSAGE");
    // A name that would break the command line never leaves the client.
    const spaced = await p.publish("a b", "x").catch((e) => e);
    expect(spaced).toMatchObject({ name: "NsqError", code: "E_BAD_TOPIC" });
    await p.publish(topic, "still fine");
  });

  it("after a fatal error, the publishes behind it fail with ConnectionError, those before it succeed", async () => {
    const topic = unique("fatal");
    const p = producer();
    await p.connect();
    const results = await Promise.allSettled([p.publish(topic, "before"), p.publish("bad!", "x"), p.publish(topic, "after")]);
    expect(results[0].status).toBe("fulfilled");
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "E_BAD_TOPIC" });
    const after = (results[2] as PromiseRejectedResult).reason;
    expect(after).toBeInstanceOf(ConnectionError);
    expect(after.cause).toBeInstanceOf(NsqError);
  });

  it("close() waits for pending publishes, then refuses new ones", async () => {
    const topic = unique("close");
    const p = new Producer(serviceUrl());
    let done = 0;
    for (let i = 0; i < 100; i++) void p.publish(topic, `m${i}`).then(() => done++);
    await p.close();
    expect(done).toBe(100);
    expect(p.pending).toBe(0);
    await expect(p.publish(topic, "late")).rejects.toBeInstanceOf(ClosedError);
    expect(await topicDepth(topic)).toBe(100);
  });

  it("rejects with ConnectionError when the service cannot be reached", async () => {
    const p = new Producer(`http://127.0.0.1:${await freePort()}`, { dialTimeout: 2000 });
    const results = await Promise.allSettled([p.publish("t", "a"), p.publish("t", "b")]);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionError);
    await p.close();
  });

  it("takes the service URL or its V2 endpoint", () => {
    expect(new Producer("https://nsq.example.com").url).toBe("wss://nsq.example.com/ws");
    expect(new Producer("http://127.0.0.1:4151/").url).toBe("ws://127.0.0.1:4151/ws");
    expect(new Producer("https://example.com/nsq").url).toBe("wss://example.com/nsq/ws");
    expect(new Producer("ws://127.0.0.1:4151/ws").url).toBe("ws://127.0.0.1:4151/ws");
  });

  it("answers heartbeats so an idle producer stays connected", async () => {
    const rec = recorder();
    const p = producer({ connect: rec.connect, heartbeatInterval: 1000 });
    const topic = unique("hb");
    await p.publish(topic, "a");
    await new Promise((r) => setTimeout(r, 3500)); // the server drops a client after two unanswered
    await p.publish(topic, "b");
    expect(rec.sockets.length).toBe(1);
    expect(rec.lines().filter((l) => l === "NOP").length).toBeGreaterThanOrEqual(2);
  });

  it("an idempotency key makes a retried publish a duplicate, stored once (topic dedup_window set)", async () => {
    const topic = unique("idem");
    const url = serviceUrl();
    for (const path of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=ch`]) {
      expect((await fetch(url + path, { method: "POST" })).status).toBe(200);
    }
    expect((await fetch(`${url}/topic/config?topic=${topic}`, { method: "POST", body: '{"dedup_window":"10m"}' })).status).toBe(200);
    const p = producer();
    await p.publish(topic, "invoice", { idempotencyKey: "inv-7" });
    await p.publish(topic, "invoice", { idempotencyKey: "inv-7" });
    await p.mpublish(topic, ["a", "b"], { idempotencyKey: "batch-1" });
    await p.mpublish(topic, ["a", "b"], { idempotencyKey: "batch-1" });
    await p.dpublish(topic, "later", 0, { idempotencyKey: "d-1" });
    await p.dpublish(topic, "later", 0, { idempotencyKey: "d-1" });
    await expect(p.publish(topic, "x", { idempotencyKey: "has space" })).rejects.toThrow(/E_INVALID/);
    const stats = (await fetch(`${url}/stats?format=json&topic=${topic}`).then((r) => r.json())) as any;
    expect(stats.topics[0].channels[0].message_count).toBe(4);
    expect(stats.topics[0].duplicate_count).toBe(3);
  });
});
