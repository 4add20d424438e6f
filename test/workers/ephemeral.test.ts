// Ephemeral channels and topics ("#ephemeral"): gone with their last consumer / last channel.
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import { decodeMessage } from "../../src/protocol/frames";
import {
  admin,
  closeClientsAfterEach,
  cmd,
  consumer,
  eventually,
  lookupChannels,
  lookupTopics,
  pubHttp,
  receive,
  sleep,
  topicStats,
} from "../helpers/semantics";

closeClientsAfterEach();

const names = async (topic: string) => (await topicStats(topic))!.channels.map((c) => c.channel_name);

describe("ephemeral channel", () => {
  it("disappears from /stats and /lookup when its last consumer disconnects; a durable one stays", async () => {
    const topic = unique("eph");
    const eph = "x#ephemeral";
    const c1 = await consumer(topic, eph, 10);
    const c2 = await consumer(topic, eph, 10);
    const d = await consumer(topic, "durable", 10);
    expect(await names(topic)).toEqual(["durable", eph]);
    expect(await lookupChannels(topic)).toEqual(["durable", eph]);
    await pubHttp(topic, "hello");
    const [m] = await receive(d, 1, { fin: true });
    // One of the ephemeral channel's two consumers gets it.
    const frames = await Promise.all([c1.maybeNext(400), c2.maybeNext(400)]);
    const got = frames.filter((f) => f !== null).map((f) => decodeMessage(f!.data));
    expect(got.map((g) => g.id)).toEqual([m.id]);
    (frames[0] ? c1 : c2).send(cmd.fin(m.id));

    // One of two consumers leaves: the channel stays.
    c1.close();
    await eventually(async () => expect((await topicStats(topic))!.channels.find((c) => c.channel_name === eph)!.client_count).toBe(1));
    await sleep(200);
    expect(await names(topic)).toEqual(["durable", eph]);

    // The last one leaves: the channel goes, from /stats and from /lookup.
    c2.close();
    await eventually(async () => {
      expect(await names(topic)).toEqual(["durable"]);
      expect(await lookupChannels(topic)).toEqual(["durable"]);
    });

    // The durable channel outlives its consumer, and the (durable) topic stays.
    d.close();
    await eventually(async () => expect((await topicStats(topic))!.channels[0].client_count).toBe(0));
    await sleep(300);
    expect(await names(topic)).toEqual(["durable"]);
    expect(await lookupChannels(topic)).toEqual(["durable"]);
    expect(await lookupTopics()).toContain(topic);

    // A later subscriber to the same ephemeral name gets a fresh channel.
    const c3 = await consumer(topic, eph, 10);
    expect(await names(topic)).toEqual(["durable", eph]);
    await pubHttp(topic, "again");
    expect((await receive(c3, 1, { fin: true }))[0].attempts).toBe(1);
  });
});

describe("ephemeral topic", () => {
  it("disappears with its last channel", async () => {
    const topic = `${unique("ephtopic")}#ephemeral`;
    const c = await consumer(topic, "c#ephemeral", 10);
    await pubHttp(topic, "m");
    await receive(c, 1, { fin: true });
    expect(await lookupTopics()).toContain(topic);
    expect(await lookupChannels(topic)).toEqual(["c#ephemeral"]);

    c.close();
    await eventually(async () => {
      expect(await topicStats(topic)).toBeNull();
      expect(await lookupTopics()).not.toContain(topic);
      expect(await lookupChannels(topic)).toBeNull();
    });
  });

  it("stays while a durable channel remains, and goes when that channel is deleted", async () => {
    const topic = `${unique("ephtopic2")}#ephemeral`;
    const c = await consumer(topic, "c#ephemeral", 10);
    await admin("/channel/create", topic, "durable");
    c.close();
    await eventually(async () => expect(await lookupChannels(topic)).toEqual(["durable"]));
    await sleep(200);
    expect(await topicStats(topic)).not.toBeNull();

    await admin("/channel/delete", topic, "durable");
    await eventually(async () => {
      expect(await topicStats(topic)).toBeNull();
      expect(await lookupChannels(topic)).toBeNull();
    });
  });
});
