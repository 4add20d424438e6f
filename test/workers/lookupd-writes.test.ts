// The service's own URL as nsqadmin's lookupd address: nsqlookupd's writes there. /topic/tombstone
// is lookupd's alone (200, nothing changed, no message lost); /topic/create, /channel/create,
// /topic/delete and /channel/delete are nsqd's, and nsqadmin's sequences of calls (its
// internal/clusterinfo) still do what it means: create creates, delete deletes (its second,
// nsqd-side call then finds nothing: a 404 that nsqadmin shows as a warning).
import { describe, expect, it } from "vitest";
import { http, post, unique } from "../helpers/workers";
import { channelStats, eventually } from "../helpers/semantics";

async function answer(res: Response) {
  return { status: res.status, body: await res.text(), nsq: res.headers.get("x-nsq-content-type") };
}

const depth = async (topic: string, channel: string) => (await channelStats(topic, channel))?.depth;

describe("POST /topic/tombstone", () => {
  it("needs topic and node, as nsqlookupd", async () => {
    const missing = (message: string) => ({ status: 400, body: JSON.stringify({ message }), nsq: "nsq; version=1.0" });
    expect(await answer(await post("/topic/tombstone"))).toEqual(missing("MISSING_ARG_TOPIC"));
    expect(await answer(await post("/topic/tombstone?topic=t"))).toEqual(missing("MISSING_ARG_NODE"));
    expect((await http("/topic/tombstone?topic=t&node=n")).status).toBe(405);
  });

  it("answers 200 and keeps every stored message", async () => {
    const topic = unique("tomb");
    expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
    expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
    expect(await (await post(`/mpub?topic=${topic}`, "a\nb\nc")).text()).toBe("OK");
    await eventually(async () => expect(await depth(topic, "c")).toBe(3));
    expect(await answer(await post(`/topic/tombstone?topic=${topic}&node=nsq.test:80`))).toEqual({ status: 200, body: "", nsq: "nsq; version=1.0" });
    expect(await depth(topic, "c")).toBe(3);
    expect((await http(`/lookup?topic=${topic}`)).status).toBe(200);
  });
});

describe("nsqadmin --lookupd-http-address=<the service>", () => {
  /** The producer's nsqd HTTP address, as nsqadmin takes it from /lookup. */
  async function producer(topic: string): Promise<string> {
    const res = await http(`/lookup?topic=${topic}`);
    expect(res.status).toBe(200);
    const { producers } = (await res.json()) as { producers: { broadcast_address: string; http_port: number }[] };
    expect(producers).toHaveLength(1);
    return `${producers[0]!.broadcast_address}:${producers[0]!.http_port}`;
  }

  it("create a topic with a channel: every call 200, the channel exists", async () => {
    const topic = unique("adm");
    expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200); // lookupd
    expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200); // lookupd
    expect(await producer(topic)).toBe("nsq.test:80");
    expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200); // the producer
    expect(await depth(topic, "c")).toBe(0);
  });

  it("tombstone a producer: lookupd's 200, then the node's /topic/delete deletes", async () => {
    const topic = unique("adm-tomb");
    expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(404); // nsqd's: no topic yet
    expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
    const node = await producer(topic);
    expect((await post(`/topic/tombstone?topic=${topic}&node=${node}`)).status).toBe(200);
    expect((await post(`/topic/delete?topic=${topic}`)).status).toBe(200);
    expect((await http(`/lookup?topic=${topic}`)).status).toBe(404);
  });

  it("delete a topic: deleted by the first call; the second (same endpoint) finds nothing", async () => {
    const topic = unique("adm-del");
    expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
    await producer(topic);
    expect((await post(`/topic/delete?topic=${topic}`)).status).toBe(200); // lookupd (= nsqd's)
    expect(await answer(await post(`/topic/delete?topic=${topic}`))).toMatchObject({ status: 404, body: JSON.stringify({ message: "TOPIC_NOT_FOUND" }) });
  });
});
