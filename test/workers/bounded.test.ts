// Bounded channels: max_depth and max_bytes with overflow reject (the publish fails, stored
// nowhere) or drop_oldest (the oldest go, counted), under concurrent publishers.
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import { admin, bodies, channelStats, closeClientsAfterEach, cmd, consumer, eventually, producer, receive, topicStats } from "../helpers/semantics";
import { createChannel, configureChannel, pubWith } from "./settings-helpers";

closeClientsAfterEach();

describe("overflow reject", () => {
  it("concurrent publishes beyond max_depth get 507 QUEUE_FULL; exactly max_depth are stored, in every channel", async () => {
    const topic = unique("rej");
    await createChannel(topic, "c");
    await createChannel(topic, "other");
    await configureChannel(topic, "c", { max_depth: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => pubWith(topic, `m${i}`)));
    const ok = answers.filter((a) => a.status === 200);
    const full = answers.filter((a) => a.status === 507);
    expect(ok).toHaveLength(5);
    expect(full).toHaveLength(15);
    expect(JSON.parse(full[0]!.body)).toEqual({ message: "QUEUE_FULL" });
    // Stored nowhere: not in the bounded channel, not in its sibling.
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 5, message_count: 5 });
    expect((await channelStats(topic, "other"))!).toMatchObject({ depth: 5, message_count: 5 });
    expect((await topicStats(topic))!).toMatchObject({ message_count: 5, rejected_count: 15 });
  });

  it("consuming makes room again; an MPUB that does not fit is refused whole", async () => {
    const topic = unique("rej");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { max_depth: 3 });
    expect((await pubWith(topic, "a\nb\nc\nd", {}, "/mpub")).status).toBe(507);
    expect((await pubWith(topic, "a\nb", {}, "/mpub")).status).toBe(200);
    expect((await pubWith(topic, "c")).status).toBe(200);
    expect((await pubWith(topic, "d")).status).toBe(507);
    const c = await consumer(topic, "c", 3);
    await receive(c, 3, { fin: true });
    await eventually(async () => expect((await channelStats(topic, "c"))!.depth + (await channelStats(topic, "c"))!.in_flight_count).toBe(0));
    // The topic's figure of what the channel holds is from its last push: before refusing, it asks again.
    expect((await pubWith(topic, "e")).status).toBe(200);
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["e"]);
  });

  it("max_bytes bounds the bodies' bytes", async () => {
    const topic = unique("rejb");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { max_bytes: 35 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => pubWith(topic, "0123456789")));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 3, held_bytes: 30 });
  });

  it("a V2 PUB beyond the bound gets E_QUEUE_FULL and the connection stays", async () => {
    const topic = unique("rejv");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { max_depth: 1 });
    const p = await producer();
    p.send(cmd.pub(topic, "one"));
    p.send(cmd.pub(topic, "two"));
    p.send(cmd.pub(topic, "three"));
    expect(await p.response()).toBe("OK");
    expect(await p.error()).toBe("E_QUEUE_FULL PUB failed: a channel of the topic is full");
    expect(await p.error()).toBe("E_QUEUE_FULL PUB failed: a channel of the topic is full");
    // Not fatal: the connection takes more.
    p.send(cmd.pub(topic, "four"));
    expect(await p.error()).toMatch(/^E_QUEUE_FULL/);
    expect((await channelStats(topic, "c"))!.depth).toBe(1);
  });
});

describe("overflow drop_oldest", () => {
  it("keeps the newest max_depth under concurrent publishers and counts the dropped exactly", async () => {
    const topic = unique("drop");
    await createChannel(topic, "c");
    await createChannel(topic, "other");
    await configureChannel(topic, "c", { max_depth: 5, overflow: "drop_oldest" });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => pubWith(topic, `m${String(i).padStart(2, "0")}`)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 5, dropped_count: 15, message_count: 20 });
    expect((await channelStats(topic, "other"))!).toMatchObject({ depth: 20, dropped_count: 0 });
    // The survivors are the last five stored (ids in publish order).
    const c = await consumer(topic, "c", 10);
    const got = await receive(c, 5, { fin: true });
    const ids = got.map((m) => m.id).sort();
    expect(ids).toEqual(got.map((m) => m.id));
    expect(got).toHaveLength(5);
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 0, dropped_count: 15 });
  });

  it("lowering the bound drops at once; in-flight messages stay", async () => {
    const topic = unique("drop");
    await createChannel(topic, "c");
    for (let i = 0; i < 10; i++) expect((await pubWith(topic, `m${i}`)).status).toBe(200);
    const c = await consumer(topic, "c", 2);
    await receive(c, 2);
    await configureChannel(topic, "c", { max_depth: 4, overflow: "drop_oldest" });
    expect((await channelStats(topic, "c"))!).toMatchObject({ in_flight_count: 2, depth: 2, dropped_count: 6 });
  });
});
