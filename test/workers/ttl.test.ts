// msg_ttl on channels and topics: a message older than the TTL is never delivered; it is dropped
// (or dead-lettered when the channel has a dead-letter topic) and counted in expired_count.
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import { admin, bodies, channelStats, closeClientsAfterEach, consumer, eventually, expectSilence, pubHttp, receive, sleep } from "../helpers/semantics";
import { createChannel, configureChannel, configureTopic, peek } from "./settings-helpers";

closeClientsAfterEach();

describe("msg_ttl", () => {
  it("a channel's TTL drops what waited longer, delivers the rest, and counts the dropped", async () => {
    const topic = unique("ttl");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { msg_ttl: "300ms" });
    await pubHttp(topic, "old1");
    await pubHttp(topic, "old2");
    await sleep(450);
    await pubHttp(topic, "fresh");
    const c = await consumer(topic, "c", 10);
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["fresh"]);
    await expectSilence(c, 200);
    expect((await channelStats(topic, "c"))!).toMatchObject({ expired_count: 2, depth: 0, in_flight_count: 0, dead_count: 0 });
  });

  it("a deferred message due after its TTL is never delivered", async () => {
    const topic = unique("ttl");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { msg_ttl: "300ms" });
    const c = await consumer(topic, "c", 10);
    await pubHttp(topic, "late", "&defer=600");
    await pubHttp(topic, "soon", "&defer=100");
    expect(bodies(await receive(c, 1, { fin: true, timeoutMs: 3000 }))).toEqual(["soon"]);
    await expectSilence(c, 900);
    expect((await channelStats(topic, "c"))!).toMatchObject({ expired_count: 1, deferred_count: 0, depth: 0 });
  });

  it("the topic's TTL applies to every channel, the shorter of the two in force", async () => {
    const topic = unique("ttlt");
    await createChannel(topic, "a");
    await createChannel(topic, "b");
    await configureTopic(topic, { msg_ttl: "300ms" });
    await configureChannel(topic, "b", { msg_ttl: "1h" });
    await pubHttp(topic, "old");
    await sleep(450);
    const a = await consumer(topic, "a", 1);
    const b = await consumer(topic, "b", 1);
    await expectSilence(a, 200);
    await expectSilence(b, 50);
    expect((await channelStats(topic, "a"))!.expired_count).toBe(1);
    expect((await channelStats(topic, "b"))!.expired_count).toBe(1);
    // A channel created later gets the topic's TTL too.
    await createChannel(topic, "later");
    await pubHttp(topic, "old2");
    await sleep(450);
    const l = await consumer(topic, "later", 1);
    await expectSilence(l, 200);
    expect((await channelStats(topic, "later"))!.expired_count).toBe(1);
  });

  it("with a dead-letter topic, expired messages are dead-lettered (counted in both)", async () => {
    const topic = unique("ttld");
    await createChannel(topic, "c");
    await createChannel(`${topic}.dead`, "inspect");
    await configureChannel(topic, "c", { msg_ttl: "200ms", dead_letter_topic: `${topic}.dead` });
    await pubHttp(topic, "stale");
    await sleep(350);
    const c = await consumer(topic, "c", 1);
    await expectSilence(c, 200);
    await eventually(async () => expect((await channelStats(`${topic}.dead`, "inspect"))!.depth).toBe(1));
    const [p] = await peek(`${topic}.dead`, "inspect");
    expect(p).toMatchObject({ body: "stale", origin: { topic, channel: "c", reason: "expired" } });
    expect((await channelStats(topic, "c"))!).toMatchObject({ expired_count: 1, dead_count: 1 });
  });
});
