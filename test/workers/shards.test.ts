// Sharded topics (src/topic/shards.ts): N topic objects, each with its own channel objects,
// behaving as one topic. With N = 1, 4 and 16: every message published reaches the one SUB
// exactly once; RDY is never exceeded (checked at every delivery); RDY 1 over 16 shards drains
// them all; a key keeps its messages on one shard, in order; admin actions and /stats cover
// every shard.
import { describe, expect, it } from "vitest";
import { drain, shardedTopic } from "./shard-helpers";
import { decodeMessage } from "../../src/protocol/frames";
import { unique, post } from "../helpers/workers";
import { admin, closeClientsAfterEach, cmd, consumer, eventually, mpubHttp, mpubV2, producer, pubHttp, text, topicStats } from "../helpers/semantics";

closeClientsAfterEach();

describe("sharded topics", () => {
  for (const n of [1, 4, 16]) {
    it(`${n} shard(s): /pub, /mpub, PUB and MPUB reach one SUB exactly once, within RDY, spread over the shards`, async () => {
      const topic = await shardedTopic(`sh${n}`, n);
      const expected: string[] = [];
      for (let i = 0; i < 40; i++) {
        await pubHttp(topic, `p${i}`);
        expected.push(`p${i}`);
      }
      for (let i = 0; i < 8; i++) {
        const batch = Array.from({ length: 5 }, (_, k) => `m${i}-${k}`);
        await mpubHttp(topic, batch);
        expected.push(...batch);
      }
      const p = await producer();
      for (let i = 0; i < 8; i++) {
        const batch = Array.from({ length: 5 }, (_, k) => `v${i}-${k}`);
        await mpubV2(p, topic, batch);
        expected.push(...batch);
      }
      const t = await topicStats(topic);
      expect(t!.message_count).toBe(expected.length);
      if (n > 1) {
        expect(t!.shards).toHaveLength(n);
        // Spread: every shard took some.
        for (const s of t!.shards!) expect(s.message_count).toBeGreaterThan(0);
      } else expect(t!.shards).toBeUndefined();

      const c = await consumer(topic, "c", 7);
      const got = await drain(c, expected.length, 7);
      expect(got.map(text).sort()).toEqual([...expected].sort());
      // Ids are unique across shards.
      expect(new Set(got.map((m) => m.id)).size).toBe(expected.length);
      await eventually(async () => {
        const ch = (await topicStats(topic))!.channels[0]!;
        expect([ch.depth, ch.in_flight_count, ch.client_count]).toEqual([0, 0, 1]);
        expect(ch.clients![0]!.ready_count).toBe(7);
      });
    });
  }

  it("4 shards: fan-out to two channels, and two consumers of one channel share its messages", async () => {
    const topic = await shardedTopic("fan", 4);
    await admin("/channel/create", topic, "d");
    const expected = Array.from({ length: 80 }, (_, i) => `f${i}`);
    for (const b of expected) await pubHttp(topic, b);
    const [c1, c2] = [await consumer(topic, "c", 5), await consumer(topic, "c", 5)];
    const d = await consumer(topic, "d", 10);
    const got: string[][] = [[], []];
    const deadline = Date.now() + 15_000;
    while (got[0]!.length + got[1]!.length < 80 && Date.now() < deadline) {
      for (const [i, cc] of [c1, c2].entries()) {
        const m = await cc.maybeNext(20);
        if (m === null) continue;
        const msg = decodeMessage(m.data);
        got[i]!.push(text(msg));
        cc.send(cmd.fin(msg.id));
      }
    }
    expect([...got[0]!, ...got[1]!].sort()).toEqual([...expected].sort());
    // Both consumers took a share.
    expect(got[0]!.length).toBeGreaterThan(0);
    expect(got[1]!.length).toBeGreaterThan(0);
    const all = await drain(d, 80, 10);
    expect(all.map(text).sort()).toEqual([...expected].sort());
  });

  it("4 shards: an ephemeral channel lives on every shard while its consumer does", async () => {
    const topic = await shardedTopic("eph", 4);
    const c = await consumer(topic, "e#ephemeral", 4);
    for (let i = 0; i < 8; i++) await pubHttp(topic, `e${i}`);
    expect((await drain(c, 8, 4)).map(text).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `e${i}`).sort());
    const t = await topicStats(topic);
    for (const s of t!.shards!) expect(s.channels.map((ch) => ch.channel_name)).toContain("e#ephemeral");
    c.close();
    await eventually(async () => {
      const t = await topicStats(topic);
      expect(t!.channels.map((ch) => ch.channel_name)).toEqual(["c"]);
      for (const s of t!.shards!) expect(s.channels.map((ch) => ch.channel_name)).toEqual(["c"]);
    });
  });

  it("RDY 1 over 16 shards: one in flight at a time, and every shard is drained", async () => {
    const topic = await shardedTopic("rdy1", 16);
    const expected: string[] = [];
    for (let i = 0; i < 64; i++) expected.push(`r${i}`);
    await mpubHttp(topic, expected.slice(0, 32));
    for (const b of expected.slice(32)) await pubHttp(topic, b);
    const c = await consumer(topic, "c", 1);
    const got = await drain(c, expected.length, 1);
    expect(got.map(text).sort()).toEqual([...expected].sort());
  });

  it("a key keeps its messages on one shard, delivered in the order they were acknowledged", async () => {
    const topic = await shardedTopic("keys", 4);
    for (let i = 0; i < 30; i++) {
      await pubHttp(topic, `a${i}`, "&key=customer-a");
      await pubHttp(topic, `b${i}`, "&key=customer-b");
    }
    const t = await topicStats(topic);
    // Two keys: at most two shards hold anything.
    expect(t!.shards!.filter((s) => s.message_count > 0).length).toBeLessThanOrEqual(2);
    const c = await consumer(topic, "c", 1);
    const got = (await drain(c, 60, 1)).map(text);
    expect(got.filter((m) => m.startsWith("a"))).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
    expect(got.filter((m) => m.startsWith("b"))).toEqual(Array.from({ length: 30 }, (_, i) => `b${i}`));
  });

  it("V2 keys (topic@key): concurrent producers, each key in order; a REQ'd message comes again after those behind it", async () => {
    const topic = await shardedTopic("v2keys", 4);
    const [p1, p2] = [await producer(), await producer()];
    p1.send(...Array.from({ length: 30 }, (_, i) => cmd.pub(`${topic}@a`, `a${i}`)));
    p2.send(...Array.from({ length: 30 }, (_, i) => cmd.pub(`${topic}@b`, `b${i}`)));
    for (let i = 0; i < 30; i++) {
      expect(await p1.response()).toBe("OK");
      expect(await p2.response()).toBe("OK");
    }
    const t = await topicStats(topic);
    expect(t!.shards!.filter((s) => s.message_count > 0).length).toBeLessThanOrEqual(2);
    const c = await consumer(topic, "c", 1);
    const seen: string[] = [];
    let requeued = false;
    while (seen.length < 61) {
      const m = await c.message(10_000);
      const body = text(m);
      seen.push(body);
      if (body === "a5" && !requeued) {
        requeued = true;
        c.send(cmd.req(m.id, 0));
      } else c.send(cmd.fin(m.id));
    }
    const as = seen.filter((x) => x.startsWith("a"));
    // a5 first at its place, then again after what was queued behind it on its shard.
    expect(as.slice(0, 6)).toEqual(["a0", "a1", "a2", "a3", "a4", "a5"]);
    expect(as.filter((x) => x !== "a5")).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`).filter((x) => x !== "a5"));
    expect(as.filter((x) => x === "a5")).toHaveLength(2);
    expect(seen.filter((x) => x.startsWith("b"))).toEqual(Array.from({ length: 30 }, (_, i) => `b${i}`));
  });

  it("channel empty, pause and delete, and topic delete, apply to every shard", async () => {
    const topic = await shardedTopic("admin", 4);
    await mpubHttp(topic, Array.from({ length: 20 }, (_, i) => `x${i}`));
    for (let i = 0; i < 8; i++) await pubHttp(topic, `y${i}`);
    expect((await topicStats(topic))!.channels[0]!.depth).toBe(28);
    await admin("/channel/empty", topic, "c");
    expect((await topicStats(topic))!.channels[0]!.depth).toBe(0);
    await admin("/channel/pause", topic, "c");
    const t = await topicStats(topic);
    expect(t!.channels[0]!.paused).toBe(true);
    for (const s of t!.shards!) expect(s.channels[0]!.paused).toBe(true);
    await admin("/channel/delete", topic, "c");
    expect((await topicStats(topic))!.channels).toEqual([]);
    await admin("/topic/delete", topic);
    expect(await topicStats(topic)).toBeNull();
    // Created again (by a publish): an unsharded topic, nothing left of the shards.
    await pubHttp(topic, "again");
    const again = await topicStats(topic);
    expect(again!.message_count).toBe(1);
    expect(again!.shards).toBeUndefined();
  });

  it("refuses a shard count outside 1..64", async () => {
    for (const bad of ["0", "65", "x", "-1"]) {
      const res = await post(`/topic/create?topic=${unique("bad")}&shards=${bad}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ message: "INVALID_SHARDS" });
    }
  });
});
