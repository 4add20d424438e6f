// Dead letters: a message that fails again at max_attempts (REQ, in-flight timeout, consumer gone)
// moves to the dead-letter topic with its body unchanged and its origin kept beside it; redrive
// moves it back. (The move surviving a SIGKILL: test/e2e/dead-letters.test.ts.)
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import { admin, channelStats, closeClientsAfterEach, cmd, consumer, eventually, expectSilence, pubHttp, receive, text, topicStats } from "../helpers/semantics";
import { hexId } from "../../src/message";
import { createChannel, configureChannel, peek } from "./settings-helpers";
import { post } from "../helpers/workers";

closeClientsAfterEach();

/** A topic whose channel `c` dead-letters at `max` attempts, and a channel `inspect` on its dead-letter topic. */
async function setup(max: number, extra: Record<string, unknown> = {}) {
  const topic = unique("dl");
  await createChannel(topic, "c");
  await createChannel(topic, "other");
  await configureChannel(topic, "c", { max_attempts: max, ...extra });
  const dead = (extra.dead_letter_topic as string | undefined) ?? `${topic}.dead`;
  await createChannel(dead, "inspect");
  return { topic, dead };
}

describe("dead letters", () => {
  it("REQ at max_attempts moves the message to <topic>.dead: body unchanged, origin kept, counted", async () => {
    const { topic, dead } = await setup(2);
    const c = await consumer(topic, "c", 1);
    await pubHttp(topic, "poison");
    const [m1] = await receive(c, 1);
    c.send(cmd.req(m1.id, 0));
    const [m2] = await receive(c, 1);
    expect(m2.attempts).toBe(2);
    c.send(cmd.req(m2.id, 0));
    await expectSilence(c, 300);

    const stats = await eventually(async () => {
      const s = (await channelStats(dead, "inspect"))!;
      expect(s.depth).toBe(1);
      return s;
    });
    expect(stats.message_count).toBe(1);
    expect((await channelStats(topic, "c"))!).toMatchObject({ dead_count: 1, depth: 0, in_flight_count: 0, deferred_count: 0 });
    // The other channel of the topic keeps its own copy.
    expect((await channelStats(topic, "other"))!.depth).toBe(1);

    const [p] = await peek(dead, "inspect");
    expect(p).toMatchObject({ body: "poison", body_encoding: "utf8", attempts: 0 });
    expect(p!.origin).toMatchObject({ topic, channel: "c", id: m1.id, attempts: 2 });
    expect(p!.origin!.reason).toMatch(/requeued after 2 attempts/);
    // (The wire has ns: above 2^53 as a number, so rounded.)
    expect(p!.origin!.timestamp).toBe(Math.round(Number(m1.timestamp) / 1e6));

    // Delivered from the dead-letter topic like any message, the same body.
    const d = await consumer(dead, "inspect", 1);
    const [got] = await receive(d, 1, { fin: true });
    expect(text(got)).toBe("poison");
  });

  it("an in-flight timeout at max_attempts dead-letters too", async () => {
    const { topic, dead } = await setup(1);
    const c = await consumer(topic, "c", 1, { msg_timeout: 1000 });
    await pubHttp(topic, "slow");
    await receive(c, 1);
    await eventually(async () => expect((await channelStats(dead, "inspect"))!.depth).toBe(1), 5000);
    const [p] = await peek(dead, "inspect");
    expect(p!.origin!.reason).toMatch(/timed out after 1 attempts/);
    expect((await channelStats(topic, "c"))!).toMatchObject({ dead_count: 1, timeout_count: 1, depth: 0, in_flight_count: 0 });
    await expectSilence(c, 200);
  });

  it("a consumer gone at max_attempts dead-letters; below it the message is delivered again", async () => {
    const { topic, dead } = await setup(2);
    await pubHttp(topic, "crashy");
    const a = await consumer(topic, "c", 1);
    await receive(a, 1);
    a.close();
    const b = await consumer(topic, "c", 1);
    const [again] = await receive(b, 1);
    expect(again.attempts).toBe(2);
    b.close();
    await eventually(async () => expect((await channelStats(dead, "inspect"))!.depth).toBe(1));
  });

  it("a given dead_letter_topic is used; FINished messages never go there", async () => {
    const dlq = unique("dlq");
    const { topic } = await setup(1, { dead_letter_topic: dlq });
    const c = await consumer(topic, "c", 2);
    await pubHttp(topic, "ok");
    await pubHttp(topic, "bad");
    const ms = await receive(c, 2);
    for (const m of ms) c.send(text(m) === "ok" ? cmd.fin(m.id) : cmd.req(m.id, 0));
    await eventually(async () => expect((await channelStats(dlq, "inspect"))!.depth).toBe(1));
    expect((await peek(dlq, "inspect")).map((p) => p.body)).toEqual(["bad"]);
    expect((await topicStats(`${topic}.dead`))).toBeNull();
  });

  it("redrive moves dead letters back to their channel only, at the rate asked, and they are delivered again", async () => {
    const { topic, dead } = await setup(1);
    const c = await consumer(topic, "c", 10);
    for (let i = 0; i < 5; i++) await pubHttp(topic, `m${i}`);
    for (const m of await receive(c, 5)) c.send(cmd.req(m.id, 0));
    await eventually(async () => expect((await channelStats(dead, "inspect"))!.depth).toBe(5));
    const otherBefore = (await channelStats(topic, "other"))!.message_count;

    const t0 = Date.now();
    const res = await post(`/channel/redrive?topic=${dead}&channel=inspect&rate=10`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ rate: 10, to: "channel", running: true });
    const back = await receive(c, 5, { fin: true });
    expect(back.map(text).sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    // Redriven messages are new deliveries of the origin channel.
    expect(back.every((m) => m.attempts === 1)).toBe(true);
    await eventually(async () => expect((await channelStats(dead, "inspect"))!).toMatchObject({ depth: 0, in_flight_count: 0 }));
    // 5 at 10/s: one step of half a second at least before the next could start; none left after.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await channelStats(topic, "other"))!.message_count).toBe(otherBefore);
    expect((await channelStats(dead, "inspect"))!.redrive).toMatchObject({ moved: 5 });
  });

  it("redrive to=topic gives every channel a copy; bad parameters are 400", async () => {
    const { topic, dead } = await setup(1);
    const c = await consumer(topic, "c", 1);
    await pubHttp(topic, "again");
    const [m] = await receive(c, 1);
    c.send(cmd.req(m.id, 0));
    await eventually(async () => expect((await channelStats(dead, "inspect"))!.depth).toBe(1));
    expect((await post(`/channel/redrive?topic=${dead}&channel=inspect&rate=x`)).status).toBe(400);
    expect((await post(`/channel/redrive?topic=${dead}&channel=inspect&to=nowhere`)).status).toBe(400);
    const before = (await channelStats(topic, "other"))!.message_count;
    expect((await post(`/channel/redrive?topic=${dead}&channel=inspect&to=topic`)).status).toBe(200);
    const [again] = await receive(c, 1, { fin: true });
    expect(text(again)).toBe("again");
    await eventually(async () => expect((await channelStats(topic, "other"))!.message_count).toBe(before + 1));
  });

  it("ids are the dead-letter topic's own; the origin keeps the first id", async () => {
    const { topic, dead } = await setup(1);
    const c = await consumer(topic, "c", 1);
    await pubHttp(topic, "x");
    const [m] = await receive(c, 1);
    c.send(cmd.req(m.id, 0));
    await eventually(async () => expect((await channelStats(dead, "inspect"))!.depth).toBe(1));
    const [p] = await peek(dead, "inspect");
    expect(p!.origin!.id).toBe(m.id);
    expect(p!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(p!.id).not.toBe(hexId(0));
  });
});
