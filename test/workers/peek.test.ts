// GET /channel/peek: up to n queued messages (ready first, then deferred), in-flight ones left
// out, binary bodies in base64; it changes nothing.
import { describe, expect, it } from "vitest";
import { http, post, unique } from "../helpers/workers";
import { admin, channelStats, closeClientsAfterEach, consumer, pubHttp, receive } from "../helpers/semantics";
import { createChannel, peek } from "./settings-helpers";

closeClientsAfterEach();

describe("peek", () => {
  it("shows queued messages of a paused channel, in order, without changing it", async () => {
    const topic = unique("peek");
    await createChannel(topic, "c");
    await admin("/channel/pause", topic, "c");
    for (let i = 0; i < 5; i++) await pubHttp(topic, `m${i}`);
    await pubHttp(topic, "later", "&defer=60000");
    expect((await post(`/pub?topic=${topic}`, new Uint8Array([0, 1, 2, 255]))).status).toBe(200);
    const before = await channelStats(topic, "c");
    const got = await peek(topic, "c", 10);
    expect(got.map((m) => m.body)).toEqual(["m0", "m1", "m2", "m3", "m4", "AAEC/w==", "later"]);
    expect(got[5]!.body_encoding).toBe("base64");
    expect(got[6]!.deferred_until).toBeGreaterThan(Date.now() + 50_000);
    expect(got[0]).toMatchObject({ attempts: 0, body_encoding: "utf8" });
    expect(got[0]!.id).toMatch(/^[0-9a-f]{16}$/);
    expect((await peek(topic, "c", 2)).map((m) => m.body)).toEqual(["m0", "m1"]);
    expect(await channelStats(topic, "c")).toEqual(before);
  });

  it("leaves out what is in flight", async () => {
    const topic = unique("peek");
    await createChannel(topic, "c");
    for (let i = 0; i < 3; i++) await pubHttp(topic, `m${i}`);
    const c = await consumer(topic, "c", 1);
    await receive(c, 1);
    expect((await peek(topic, "c")).map((m) => m.body)).toEqual(["m1", "m2"]);
  });

  it("answers nsqd-style errors", async () => {
    const topic = unique("peek");
    await createChannel(topic, "c");
    expect(await (await http(`/channel/peek?topic=${topic}&channel=c&n=1000`)).json()).toEqual({ message: "INVALID_N" });
    expect((await http(`/channel/peek?topic=${topic}&channel=nope`)).status).toBe(404);
    expect(await (await http(`/channel/peek?topic=${topic}`)).json()).toEqual({ message: "MISSING_ARG_CHANNEL" });
  });
});
