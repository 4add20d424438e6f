// nsqlookupd's write API on the bridge (what nsqadmin calls on its lookupds): each endpoint
// answers as nsqlookupd's http.go (status, body, MISSING_ARG_*/INVALID_ARG_* errors); a create
// is visible in /lookup and the service's /stats; a delete or tombstone on the lookupd port
// leaves stored messages where they are. And nsqadmin's whole sequences of calls (its
// internal/clusterinfo: lookupd first, then the producer /lookup lists), end to end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge, channelStats, eventually, serviceUrl, unique } from "./helpers";

let bridge: Bridge;
beforeAll(async () => {
  bridge = await Bridge.open(serviceUrl());
});
afterAll(async () => {
  await bridge?.stop();
});

const lookupd = (path: string, method = "POST") => fetch(`http://${bridge.lookupd}${path}`, { method, headers: { Accept: "application/vnd.nsq; version=1.0" } });

async function answer(res: Response) {
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type"), nsq: res.headers.get("x-nsq-content-type") };
}

/** nsqlookupd's 200 to a write: empty body, no Content-Type, X-NSQ-Content-Type. */
const OK = { status: 200, body: "", type: null, nsq: "nsq; version=1.0" };
const err = (status: number, message: string) => ({ status, body: JSON.stringify({ message }), type: "application/json; charset=utf-8", nsq: "nsq; version=1.0" });

async function publish(topic: string, bodies: string[]) {
  const res = await fetch(`${serviceUrl()}/mpub?topic=${topic}`, { method: "POST", body: bodies.join("\n") });
  expect(await res.text()).toBe("OK");
}

const depth = async (topic: string, channel: string) => (await channelStats(serviceUrl(), topic, channel))?.depth;

/** The producer's nsqd HTTP address, as nsqadmin takes it from /lookup (broadcast_address:http_port). */
async function producerOf(topic: string): Promise<string> {
  const res = await lookupd(`/lookup?topic=${topic}`, "GET");
  expect(res.status).toBe(200);
  const { producers } = (await res.json()) as { producers: { broadcast_address: string; http_port: number }[] };
  expect(producers).toHaveLength(1);
  return `http://${producers[0]!.broadcast_address}:${producers[0]!.http_port}`;
}

describe("errors, as nsqlookupd's", () => {
  it.each([
    ["/topic/create", "MISSING_ARG_TOPIC"],
    ["/topic/create?topic=bad!", "INVALID_ARG_TOPIC"],
    ["/topic/delete", "MISSING_ARG_TOPIC"],
    ["/topic/tombstone", "MISSING_ARG_TOPIC"],
    ["/topic/tombstone?topic=t", "MISSING_ARG_NODE"],
    ["/channel/create", "MISSING_ARG_TOPIC"],
    ["/channel/create?topic=bad!&channel=c", "INVALID_ARG_TOPIC"],
    ["/channel/create?topic=t", "MISSING_ARG_CHANNEL"],
    ["/channel/create?topic=t&channel=bad!", "INVALID_ARG_CHANNEL"],
    ["/channel/delete", "MISSING_ARG_TOPIC"],
    ["/channel/delete?topic=t&channel=", "INVALID_ARG_CHANNEL"],
  ])("POST %s: 400 %s", async (path, message) => {
    expect(await answer(await lookupd(path))).toEqual(err(400, message));
  });

  it("an unknown channel: 404 CHANNEL_NOT_FOUND on delete", async () => {
    expect(await answer(await lookupd(`/channel/delete?topic=${unique("none")}&channel=c`))).toEqual(err(404, "CHANNEL_NOT_FOUND"));
  });

  it("another method: 405 with Allow, as nsqlookupd's router", async () => {
    for (const path of ["/topic/create", "/topic/delete", "/topic/tombstone", "/channel/create", "/channel/delete"]) {
      const res = await lookupd(`${path}?topic=t&channel=c`, "GET");
      expect(await answer(res)).toEqual(err(405, "METHOD_NOT_ALLOWED"));
      expect(res.headers.get("allow")).toBe("OPTIONS, POST");
    }
  });
});

describe("effects", () => {
  it("/topic/create creates the topic: in /lookup, /topics and /stats", async () => {
    const topic = unique("lw-create");
    expect(await answer(await lookupd(`/topic/create?topic=${topic}`))).toEqual(OK);
    const look = await lookupd(`/lookup?topic=${topic}`, "GET");
    expect(look.status).toBe(200);
    expect(((await look.json()) as any).channels).toEqual([]);
    expect(((await (await lookupd("/topics", "GET")).json()) as any).topics).toContain(topic);
    const stats = (await (await fetch(`${serviceUrl()}/stats?format=json&topic=${topic}`)).json()) as any;
    expect(stats.topics.map((t: any) => t.topic_name)).toEqual([topic]);
    // Again: still 200, as nsqlookupd.
    expect(await answer(await lookupd(`/topic/create?topic=${topic}`))).toEqual(OK);
  });

  it("/channel/create creates the topic and the channel", async () => {
    const topic = unique("lw-chan");
    expect(await answer(await lookupd(`/channel/create?topic=${topic}&channel=billing`))).toEqual(OK);
    expect(((await (await lookupd(`/lookup?topic=${topic}`, "GET")).json()) as any).channels).toEqual(["billing"]);
    expect(await depth(topic, "billing")).toBe(0);
  });

  it("/topic/delete, /topic/tombstone, /channel/delete: 200, and every stored message stays", async () => {
    const topic = unique("lw-keep");
    expect(await answer(await lookupd(`/channel/create?topic=${topic}&channel=c`))).toEqual(OK);
    await publish(topic, ["a", "b", "c"]);
    await eventually(async () => expect(await depth(topic, "c")).toBe(3));
    const node = (await producerOf(topic)).replace("http://", "");
    expect(await answer(await lookupd(`/topic/tombstone?topic=${topic}&node=${node}`))).toEqual(OK);
    expect(await answer(await lookupd(`/channel/delete?topic=${topic}&channel=c`))).toEqual(OK);
    expect(await answer(await lookupd(`/topic/delete?topic=${topic}`))).toEqual(OK);
    expect(await depth(topic, "c")).toBe(3);
    expect(((await (await lookupd(`/lookup?topic=${topic}`, "GET")).json()) as any).channels).toEqual(["c"]);
  });
});

// nsqadmin --lookupd-http-address=<the bridge>: the calls of clusterinfo's CreateTopicChannel,
// DeleteChannel, DeleteTopic and TombstoneNodeForTopic, in their order; every one answers 200
// (nsqadmin shows any other answer as an error or warning).
describe("nsqadmin's actions through the bridge's lookupd", () => {
  const ok200 = async (res: Promise<Response>) => expect((await res).status).toBe(200);
  const post = (url: string) => fetch(url, { method: "POST" });

  it("create a topic and a channel, then delete the channel, then the topic", async () => {
    const topic = unique("lw-admin");
    await ok200(lookupd(`/topic/create?topic=${topic}`));
    await ok200(lookupd(`/channel/create?topic=${topic}&channel=c`));
    const producer = await producerOf(topic);
    await ok200(post(`${producer}/channel/create?topic=${topic}&channel=c`));
    await publish(topic, ["x"]);
    await eventually(async () => expect(await depth(topic, "c")).toBe(1));

    const p1 = await producerOf(topic); // DeleteChannel: producers first
    await ok200(lookupd(`/channel/delete?topic=${topic}&channel=c`));
    await ok200(post(`${p1}/channel/delete?topic=${topic}&channel=c`));
    expect(await depth(topic, "c")).toBeUndefined();

    const p2 = await producerOf(topic); // DeleteTopic: likewise
    await ok200(lookupd(`/topic/delete?topic=${topic}`));
    await ok200(post(`${p2}/topic/delete?topic=${topic}`));
    expect((await lookupd(`/lookup?topic=${topic}`, "GET")).status).toBe(404);
  });

  it("pause, unpause and empty a channel and a topic: /lookup, then the producer", async () => {
    const topic = unique("lw-act");
    await ok200(lookupd(`/channel/create?topic=${topic}&channel=c`));
    await publish(topic, ["1", "2"]);
    await eventually(async () => expect(await depth(topic, "c")).toBe(2));
    for (const action of ["pause", "unpause", "empty"]) {
      await ok200(post(`${await producerOf(topic)}/channel/${action}?topic=${topic}&channel=c`));
      await ok200(post(`${await producerOf(topic)}/topic/${action}?topic=${topic}`));
    }
    expect(await depth(topic, "c")).toBe(0);
  });

  it("tombstone the topic's producer: lookupd, then the node's /topic/delete", async () => {
    const topic = unique("lw-tomb");
    await ok200(lookupd(`/channel/create?topic=${topic}&channel=c`));
    const node = (await producerOf(topic)).replace("http://", "");
    await ok200(lookupd(`/topic/tombstone?topic=${topic}&node=${node}`));
    await ok200(fetch(`http://${node}/info`));
    await ok200(post(`http://${node}/topic/delete?topic=${topic}`));
    expect((await lookupd(`/lookup?topic=${topic}`, "GET")).status).toBe(404);
  });
});
