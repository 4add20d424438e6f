// nsqd's topic and channel administration over HTTP: pause/unpause, empty, delete.
import { describe, expect, it } from "vitest";
import { post, unique } from "../helpers/workers";
import {
  admin,
  bodies,
  channelStats,
  closeClientsAfterEach,
  cmd,
  consumer,
  eventually,
  expectSilence,
  lookupChannels,
  lookupTopics,
  mpubHttp,
  producer,
  pubHttp,
  pubV2,
  receive,
  topicStats,
} from "../helpers/semantics";

closeClientsAfterEach();

describe("topic pause", () => {
  it("holds publishes in the topic while paused and delivers them after unpause", async () => {
    const topic = unique("tpause");
    const c = await consumer(topic, "ch", 10);
    await admin("/topic/pause", topic);
    expect(await topicStats(topic)).toMatchObject({ paused: true });

    await pubHttp(topic, "p1");
    await mpubHttp(topic, ["p2", "p3"]);
    const p = await producer();
    await pubV2(p, topic, "p4");
    await expectSilence(c, 500);
    const t = await topicStats(topic);
    expect(t).toMatchObject({ paused: true, depth: 4, message_count: 4 });
    expect(t!.channels[0]).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 0 });

    await admin("/topic/unpause", topic);
    expect(bodies(await receive(c, 4, { fin: true }))).toEqual(["p1", "p2", "p3", "p4"]);
    await eventually(async () => {
      const t = await topicStats(topic);
      expect(t).toMatchObject({ paused: false, depth: 0 });
      expect(t!.channels[0]).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 4 });
    });
    // And later publishes flow straight through, after the held ones.
    await pubHttp(topic, "p5");
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["p5"]);
  });
});

describe("channel pause", () => {
  it("stops and resumes delivery to the channel's consumers; other channels go on", async () => {
    const topic = unique("cpause");
    const c = await consumer(topic, "ch", 10);
    const other = await consumer(topic, "other", 10);
    await pubHttp(topic, "before");
    const [inFlight] = await receive(c, 1);
    await receive(other, 1, { fin: true });

    await admin("/channel/pause", topic, "ch");
    expect(await channelStats(topic, "ch")).toMatchObject({ paused: true });
    // A message in flight when the channel paused can still be finished.
    c.send(cmd.fin(inFlight.id));
    await mpubHttp(topic, ["x1", "x2"]);
    expect(bodies(await receive(other, 2, { fin: true }))).toEqual(["x1", "x2"]);
    await expectSilence(c, 500);
    expect(await channelStats(topic, "ch")).toMatchObject({ paused: true, depth: 2, in_flight_count: 0 });
    expect(await channelStats(topic, "other")).toMatchObject({ paused: false, depth: 0 });

    await admin("/channel/unpause", topic, "ch");
    expect(bodies(await receive(c, 2, { fin: true }))).toEqual(["x1", "x2"]);
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ paused: false, depth: 0, in_flight_count: 0 });
    });
  });
});

describe("channel empty", () => {
  it("drops queued, deferred and in-flight messages; a later FIN of those fails", async () => {
    const topic = unique("cempty");
    const c = await consumer(topic, "ch", 2);
    await mpubHttp(topic, ["m0", "m1", "m2", "m3", "m4"]);
    const [m0, m1] = await receive(c, 2);
    c.send(cmd.req(m1.id, 5000));
    const [m2] = await receive(c, 1);
    expect(bodies([m0, m1, m2])).toEqual(["m0", "m1", "m2"]);
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ depth: 2, in_flight_count: 2, deferred_count: 1 });
    });

    await admin("/channel/empty", topic, "ch");
    const ch = await channelStats(topic, "ch");
    expect(ch).toMatchObject({ depth: 0, in_flight_count: 0, deferred_count: 0, client_count: 1 });
    expect(ch!.clients![0]).toMatchObject({ in_flight_count: 0, ready_count: 2 });

    c.send(cmd.fin(m0.id));
    expect(await c.error()).toBe(`E_FIN_FAILED FIN ${m0.id} failed ID not in flight`);
    c.send(cmd.req(m2.id, 0));
    expect(await c.error()).toBe(`E_REQ_FAILED REQ ${m2.id} failed ID not in flight`);
    // Nothing comes back: not the queued, not the deferred, not the in-flight ones.
    await expectSilence(c, 400);

    // The channel and its consumer carry on.
    await pubHttp(topic, "fresh");
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["fresh"]);
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0 });
    });
  });
});

describe("topic empty", () => {
  it("drops the topic's own messages, not its channels'", async () => {
    const topic = unique("tempty");
    const c = await consumer(topic, "ch", 0);
    await mpubHttp(topic, ["in-channel-1", "in-channel-2"]);
    await eventually(async () => expect((await channelStats(topic, "ch"))!.depth).toBe(2));
    await admin("/topic/pause", topic);
    await mpubHttp(topic, ["in-topic-1", "in-topic-2", "in-topic-3"]);
    expect(await topicStats(topic)).toMatchObject({ depth: 3 });

    await admin("/topic/empty", topic);
    const t = await topicStats(topic);
    expect(t).toMatchObject({ depth: 0, paused: true });
    expect(t!.channels[0]).toMatchObject({ depth: 2 });

    await admin("/topic/unpause", topic);
    c.send(cmd.rdy(10));
    expect(bodies(await receive(c, 2, { fin: true }))).toEqual(["in-channel-1", "in-channel-2"]);
    await expectSilence(c, 400);
    expect(await topicStats(topic)).toMatchObject({ depth: 0 });
  });

  it("drops what a channel-less topic holds, so its first channel gets nothing", async () => {
    const topic = unique("tempty0");
    await mpubHttp(topic, ["a", "b", "c"]);
    expect(await topicStats(topic)).toMatchObject({ depth: 3, channels: [] });
    await admin("/topic/empty", topic);
    expect(await topicStats(topic)).toMatchObject({ depth: 0 });
    const c = await consumer(topic, "ch", 10);
    await expectSilence(c, 400);
    expect(await channelStats(topic, "ch")).toMatchObject({ depth: 0, message_count: 0 });
  });
});

describe("channel delete", () => {
  it("closes its consumers' connections and removes it from /stats and /lookup", async () => {
    const topic = unique("cdelete");
    const gone = await consumer(topic, "gone", 10);
    const keep = await consumer(topic, "keep", 10);
    await pubHttp(topic, "one");
    await receive(gone, 1);
    await receive(keep, 1, { fin: true });
    expect(await lookupChannels(topic)).toEqual(["gone", "keep"]);

    await admin("/channel/delete", topic, "gone");
    await gone.closedByServer(3000);
    const t = await topicStats(topic);
    expect(t!.channels.map((c) => c.channel_name)).toEqual(["keep"]);
    expect(await lookupChannels(topic)).toEqual(["keep"]);

    const again = await post(`/channel/delete?topic=${topic}&channel=gone`);
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ message: "CHANNEL_NOT_FOUND" });

    // The other channel and its consumer are untouched.
    await pubHttp(topic, "two");
    expect(bodies(await receive(keep, 1, { fin: true }))).toEqual(["two"]);
    expect(keep.closed).toBe(false);

    // The deleted channel's messages went with it: a channel of the same name starts empty.
    const back = await consumer(topic, "gone", 10);
    await expectSilence(back, 300);
    expect(await channelStats(topic, "gone")).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 0 });
    await pubHttp(topic, "three");
    expect(bodies(await receive(back, 1, { fin: true }))).toEqual(["three"]);
    expect(bodies(await receive(keep, 1, { fin: true }))).toEqual(["three"]);
  });
});

describe("topic delete", () => {
  it("removes the topic and its channels, closing their consumers", async () => {
    const topic = unique("tdelete");
    const c = await consumer(topic, "a", 1);
    await admin("/channel/create", topic, "b");
    await mpubHttp(topic, ["1", "2", "3"]);
    await receive(c, 1);
    expect(await lookupChannels(topic)).toEqual(["a", "b"]);
    expect(await lookupTopics()).toContain(topic);

    await admin("/topic/delete", topic);
    await c.closedByServer(3000);
    expect(await topicStats(topic)).toBeNull();
    expect(await lookupChannels(topic)).toBeNull();
    expect(await lookupTopics()).not.toContain(topic);
    const again = await post(`/topic/delete?topic=${topic}`);
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ message: "TOPIC_NOT_FOUND" });

    // Publishing again makes a new topic: no channels, none of the old messages.
    await pubHttp(topic, "new");
    expect(await topicStats(topic)).toMatchObject({ depth: 1, message_count: 1, channels: [] });
    const d = await consumer(topic, "a", 10);
    expect(bodies(await receive(d, 1, { fin: true }))).toEqual(["new"]);
    await expectSilence(d, 300);
  });
});
