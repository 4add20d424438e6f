// Publish dedup: an idempotency key (HTTP Idempotency-Key; V2 the parameter after nsqd's) within
// the topic's dedup_window is answered OK and stored once; content dedup without a key.
// (Across a restart: test/e2e/dedup.test.ts.)
import { describe, expect, it } from "vitest";
import { post, unique } from "../helpers/workers";
import { admin, channelStats, closeClientsAfterEach, cmd, producer, sleep, topicStats } from "../helpers/semantics";
import { configureTopic, createChannel, pubWith } from "./settings-helpers";

closeClientsAfterEach();

async function topicWithWindow(window: string, extra: Record<string, unknown> = {}) {
  const topic = unique("dedup");
  await createChannel(topic, "c");
  await configureTopic(topic, { dedup_window: window, ...extra });
  return topic;
}

describe("idempotency keys", () => {
  it("a repeated Idempotency-Key is answered OK and stored once, concurrent repeats included", async () => {
    const topic = await topicWithWindow("10m");
    const answers = await Promise.all(Array.from({ length: 10 }, () => pubWith(topic, "invoice-1", { "Idempotency-Key": "inv-1" })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect((await pubWith(topic, "invoice-2", { "Idempotency-Key": "inv-2" })).status).toBe(200);
    expect((await pubWith(topic, "no key")).status).toBe(200);
    expect((await pubWith(topic, "no key")).status).toBe(200);
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 4, message_count: 4 });
    expect((await topicStats(topic))!).toMatchObject({ message_count: 4, duplicate_count: 9 });
  });

  it("an MPUB with a key is one publish: a repeat stores none of it", async () => {
    const topic = await topicWithWindow("10m");
    expect((await pubWith(topic, "a\nb\nc", { "Idempotency-Key": "batch-1" }, "/mpub")).status).toBe(200);
    expect((await pubWith(topic, "a\nb\nc", { "Idempotency-Key": "batch-1" }, "/mpub")).status).toBe(200);
    expect((await channelStats(topic, "c"))!.depth).toBe(3);
  });

  it("keys are forgotten after the window; without a window they mean nothing", async () => {
    const topic = await topicWithWindow("300ms");
    await pubWith(topic, "x", { "Idempotency-Key": "k" });
    await pubWith(topic, "x", { "Idempotency-Key": "k" });
    await sleep(400);
    await pubWith(topic, "x", { "Idempotency-Key": "k" });
    expect((await channelStats(topic, "c"))!.depth).toBe(2);
    const plain = unique("nodedup");
    await createChannel(plain, "c");
    await pubWith(plain, "x", { "Idempotency-Key": "k" });
    await pubWith(plain, "x", { "Idempotency-Key": "k" });
    expect((await channelStats(plain, "c"))!.depth).toBe(2);
  });

  it("a bad key is 400 INVALID_IDEMPOTENCY_KEY", async () => {
    const topic = await topicWithWindow("10m");
    const res = await pubWith(topic, "x", { "Idempotency-Key": "k".repeat(257) });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ message: "INVALID_IDEMPOTENCY_KEY" });
  });

  it("V2: PUB topic key, MPUB topic key and DPUB topic ms key dedup; each publish answered OK", async () => {
    const topic = await topicWithWindow("10m");
    const p = await producer();
    p.send(cmd.pub(`${topic} k1`, "one"));
    p.send(cmd.pub(`${topic} k1`, "one again"));
    p.send(cmd.mpub(`${topic} k2`, ["a", "b"]));
    p.send(cmd.mpub(`${topic} k2`, ["a", "b"]));
    p.send(cmd.dpub(`${topic}`, 0, "plain"));
    for (let i = 0; i < 5; i++) expect(await p.response()).toBe("OK");
    expect((await channelStats(topic, "c"))!.depth).toBe(4);
    expect((await topicStats(topic))!.duplicate_count).toBe(2);
  });

  it("keys are shared by HTTP and V2 publishes, and hold across the shards of a topic", async () => {
    const topic = unique("dedups");
    expect((await post(`/topic/create?topic=${topic}&shards=4`)).status).toBe(200);
    await admin("/channel/create", topic, "c");
    await configureTopic(topic, { dedup_window: "10m" });
    for (let i = 0; i < 8; i++) {
      expect((await pubWith(topic, `m${i}`, { "Idempotency-Key": `key-${i}` })).status).toBe(200);
      expect((await pubWith(topic, `m${i}`, { "Idempotency-Key": `key-${i}` })).status).toBe(200);
    }
    const p = await producer();
    for (let i = 0; i < 8; i++) p.send(cmd.pub(`${topic} key-${i}`, `m${i}`));
    for (let i = 0; i < 8; i++) expect(await p.response()).toBe("OK");
    const t = (await topicStats(topic))!;
    expect(t.channels[0]!.depth).toBe(8);
    expect(t.duplicate_count).toBe(16);
    // The keys spread over the shards.
    expect(t.shards!.filter((s) => s.message_count > 0).length).toBeGreaterThan(1);
  });
});

describe("content dedup", () => {
  it("without a key, a body seen within the window is a duplicate", async () => {
    const topic = await topicWithWindow("10m", { dedup_content: true });
    for (const body of ["same", "same", "other", "same"]) expect((await pubWith(topic, body)).status).toBe(200);
    expect((await channelStats(topic, "c"))!.depth).toBe(2);
    expect((await topicStats(topic))!.duplicate_count).toBe(2);
  });
});
