// POST/GET /topic/config and /channel/config: kept with the object, shown in /stats, validated
// with nsqd-style 400s, and applied to every shard.
import { describe, expect, it } from "vitest";
import { http, post, unique } from "../helpers/workers";
import { admin, channelStats, topicStats } from "../helpers/semantics";
import { createChannel, configureChannel, configureTopic } from "./settings-helpers";

describe("channel settings", () => {
  it("are off by default, set by POST, shown by GET and in /stats", async () => {
    const topic = unique("cfg");
    await createChannel(topic, "c");
    const shown = await (await http(`/channel/config?topic=${topic}&channel=c`)).json();
    expect(shown).toEqual({ max_attempts: 0, dead_letter_topic: "", msg_ttl: "0s", max_depth: 0, max_bytes: 0, overflow: "reject", retention: "0s" });
    const after = await configureChannel(topic, "c", { max_attempts: 3, msg_ttl: "90s", max_depth: 10 });
    expect(after).toMatchObject({ max_attempts: 3, dead_letter_topic: `${topic}.dead`, msg_ttl: "1m30s", max_depth: 10 });
    expect((await channelStats(topic, "c"))!).toMatchObject({ config: after, dead_count: 0, expired_count: 0, dropped_count: 0 });
    // Partial: the rest stays; null: back to the default.
    expect(await configureChannel(topic, "c", { msg_ttl: null })).toMatchObject({ max_attempts: 3, msg_ttl: "0s", max_depth: 10 });
  });

  it("answers bad input with 400 and its code, and changes nothing", async () => {
    const topic = unique("cfg");
    await createChannel(topic, "c");
    const cases: [string, string][] = [
      ['{"max_attempts":-1}', "INVALID_MAX_ATTEMPTS"],
      ['{"overflow":"block"}', "INVALID_OVERFLOW"],
      ['{"msg_ttl":"soon"}', "INVALID_MSG_TTL"],
      ['{"dead_letter_topic":"a b"}', "INVALID_DEAD_LETTER_TOPIC"],
      ['{"color":"red"}', "INVALID_SETTING"],
      ["not json", "INVALID_BODY"],
    ];
    for (const [body, code] of cases) {
      const res = await post(`/channel/config?topic=${topic}&channel=c`, body);
      expect(res.status, body).toBe(400);
      expect(await res.json()).toEqual({ message: code });
    }
    expect((await channelStats(topic, "c"))!.config).toMatchObject({ max_attempts: 0, overflow: "reject" });
    expect((await post(`/channel/config?topic=${topic}&channel=nope`, "{}")).status).toBe(404);
    expect((await post(`/channel/config?topic=${unique("none")}&channel=c`, "{}")).status).toBe(404);
    expect(await (await post(`/channel/config?topic=${topic}`, "{}")).json()).toEqual({ message: "MISSING_ARG_CHANNEL" });
  });

  it("apply to every shard of a sharded topic", async () => {
    const topic = unique("cfgs");
    expect((await post(`/topic/create?topic=${topic}&shards=3`)).status).toBe(200);
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { max_attempts: 2 });
    const t = (await topicStats(topic))!;
    expect(t.shards).toHaveLength(3);
    for (const s of t.shards!) expect(s.channels[0]!.config).toMatchObject({ max_attempts: 2, dead_letter_topic: `${topic}.dead` });
  });

  it("a shard added later gets the topic's and every channel's settings", async () => {
    const topic = unique("cfgg");
    expect((await post(`/topic/create?topic=${topic}&shards=2`)).status).toBe(200);
    await admin("/channel/create", topic, "c");
    await configureChannel(topic, "c", { max_depth: 7, overflow: "drop_oldest" });
    await configureTopic(topic, { dedup_window: "5m" });
    expect((await post(`/topic/shards?topic=${topic}&n=4`)).status).toBe(200);
    const t = (await topicStats(topic))!;
    expect(t.shards).toHaveLength(4);
    for (const s of t.shards!) {
      expect(s.config).toMatchObject({ dedup_window: "5m" });
      expect(s.channels[0]!.config).toMatchObject({ max_depth: 7, overflow: "drop_oldest" });
    }
  });
});

describe("topic settings", () => {
  it("are set, validated and shown in /stats", async () => {
    const topic = unique("tcfg");
    expect((await post(`/topic/config?topic=${topic}`, "{}")).status).toBe(404);
    await admin("/topic/create", topic);
    expect(await configureTopic(topic, { dedup_window: "10m", msg_ttl: "1h" })).toEqual({ msg_ttl: "1h", dedup_window: "10m", dedup_content: false });
    const res = await post(`/topic/config?topic=${topic}`, '{"dedup_window":"30d"}');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: "INVALID_DEDUP_WINDOW" });
    expect((await topicStats(topic))!).toMatchObject({ config: { dedup_window: "10m", msg_ttl: "1h" }, duplicate_count: 0, rejected_count: 0 });
  });
});
