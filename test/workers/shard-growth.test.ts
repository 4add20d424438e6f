// Adding shards to a live topic (POST /topic/shards): nothing lost or duplicated while it is
// published to and consumed, RDY held across the change, consumers already on the topic join
// the new shards. (A file of its own, with a long timeout: in this test runtime publishes slow down
// from ~10 ms to ~70 ms over a file's tests, which the service alone does not show.)
import { describe, expect, it } from "vitest";
import { unique, post } from "../helpers/workers";
import { closeClientsAfterEach, consumer, eventually, pubHttp, text, topicStats } from "../helpers/semantics";
import { drain, shardedTopic } from "./shard-helpers";

closeClientsAfterEach();

describe("adding shards", () => {
  for (const [from, to] of [[1, 4], [4, 16]] as const) {
    it(`adding shards under load (${from} → ${to}): nothing lost or duplicated, RDY held, a consumer already on the topic takes them on`, async () => {
      const topic = await shardedTopic(`grow${from}`, from);
      const c = await consumer(topic, "c", 10);
      const expected = Array.from({ length: 150 }, (_, i) => `g${i}`);
      const received = drain(c, expected.length, 10);
      for (let i = 0; i < 50; i++) await pubHttp(topic, expected[i]!);
      const grown = await post(`/topic/shards?topic=${topic}&n=${to}`);
      expect(grown.status, await grown.clone().text()).toBe(200);
      for (let i = 50; i < 150; i++) await pubHttp(topic, expected[i]!);
      const got = await received;
      expect(got.map(text).sort()).toEqual([...expected].sort());
      expect(new Set(got.map((m) => m.id)).size).toBe(expected.length);
      const t = await topicStats(topic);
      expect(t!.shards).toHaveLength(to);
      expect(t!.message_count).toBe(150);
      // The added shards took publishes, and a new consumer joins them all.
      for (const s of t!.shards!.slice(from)) expect(s.message_count).toBeGreaterThan(0);
      c.close();
      await pubHttp(topic, "late");
      const d = await consumer(topic, "c", 1);
      expect(text(await d.message())).toBe("late");
    }, 60_000);
  }

  it("draining shards (4 → 2) under load: the others take the publishes, the drained go once empty, nothing lost, consumers stay", async () => {
    const topic = await shardedTopic("shrink", 4);
    const c = await consumer(topic, "c", 10);
    const expected = Array.from({ length: 120 }, (_, i) => `d${i}`);
    const received = drain(c, expected.length, 10, 5);
    for (let i = 0; i < 60; i++) await pubHttp(topic, expected[i]!);
    expect((await post(`/topic/shards?topic=${topic}&n=2`)).status).toBe(200);
    const before = (await topicStats(topic))!.shards!.map((s) => s.message_count);
    for (let i = 60; i < 120; i++) await pubHttp(topic, expected[i]!);
    const got = await received;
    expect(got.map(text).sort()).toEqual([...expected].sort());
    // Nothing more went to the draining shards; once empty they are gone.
    const t = await eventually(async () => {
      const t = (await topicStats(topic))!;
      expect(t.shards).toHaveLength(2);
      return t;
    }, 15_000);
    expect(before.length).toBe(4);
    expect(t.message_count).toBeGreaterThanOrEqual(60);
    // The consumer is still there, on the shards that remain.
    await pubHttp(topic, "after");
    expect(text(await c.message())).toBe("after");
  }, 60_000);

  it("adding shards: bad counts and unknown topics are refused", async () => {
    const topic = await shardedTopic("grow-bad", 4);
    for (const [q, status, message] of [
      [`topic=${topic}&n=65`, 400, "INVALID_SHARDS"],
      [`topic=${topic}`, 400, "INVALID_SHARDS"],
      [`topic=${unique("none")}&n=4`, 404, "TOPIC_NOT_FOUND"],
    ] as const) {
      const res = await post(`/topic/shards?${q}`);
      expect(res.status, q).toBe(status);
      expect(await res.json()).toEqual({ message });
    }
    expect((await post(`/topic/shards?topic=${topic}&n=4`)).status).toBe(200);
    expect((await topicStats(topic))!.shards).toHaveLength(4);
  });

});
