import { describe, expect, it } from "vitest";
import {
  applyChannelChanges,
  applyTopicChanges,
  CHANNEL_DEFAULTS,
  deadLetterTopic,
  effectiveTtl,
  formatDuration,
  parseDuration,
  showChannelSettings,
  TOPIC_DEFAULTS,
} from "./settings";

const code = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (e) {
    return (e as Error).message;
  }
};

describe("durations", () => {
  it("reads Go durations and milliseconds, and shows them back short", () => {
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration(5000)).toBe(5000);
    expect(parseDuration("0")).toBe(0);
    for (const bad of ["", "h", "10", "10x", "-1s", "1h ", -5, 1.5, true]) expect(parseDuration(bad)).toBeNull();
    expect(formatDuration(86_400_000)).toBe("24h");
    expect(formatDuration(90_500)).toBe("1m30s500ms");
    expect(formatDuration(0)).toBe("0s");
  });
});

describe("channel settings", () => {
  it("applies the keys given, null back to the default, and keeps the rest", () => {
    const a = applyChannelChanges("orders", CHANNEL_DEFAULTS, JSON.stringify({ max_attempts: 5, msg_ttl: "1h", max_depth: 100, overflow: "drop_oldest" }));
    expect(a).toEqual({ ...CHANNEL_DEFAULTS, max_attempts: 5, msg_ttl: 3_600_000, max_depth: 100, overflow: "drop_oldest" });
    const b = applyChannelChanges("orders", a, JSON.stringify({ msg_ttl: null, retention: "24h" }));
    expect(b).toEqual({ ...a, msg_ttl: 0, retention: 86_400_000 });
  });

  it("answers each bad value with its own code", () => {
    const apply = (body: unknown, topic = "orders") => code(() => applyChannelChanges(topic, CHANNEL_DEFAULTS, typeof body === "string" ? body : JSON.stringify(body)));
    expect(apply("{")).toBe("INVALID_BODY");
    expect(apply("[1]")).toBe("INVALID_BODY");
    expect(apply({ nope: 1 })).toBe("INVALID_SETTING");
    expect(apply({ max_attempts: -1 })).toBe("INVALID_MAX_ATTEMPTS");
    expect(apply({ max_attempts: 65536 })).toBe("INVALID_MAX_ATTEMPTS");
    expect(apply({ max_attempts: 1.5 })).toBe("INVALID_MAX_ATTEMPTS");
    expect(apply({ dead_letter_topic: "bad name" })).toBe("INVALID_DEAD_LETTER_TOPIC");
    expect(apply({ dead_letter_topic: "orders" })).toBe("INVALID_DEAD_LETTER_TOPIC");
    expect(apply({ msg_ttl: "soon" })).toBe("INVALID_MSG_TTL");
    expect(apply({ max_depth: "x" })).toBe("INVALID_MAX_DEPTH");
    expect(apply({ max_bytes: -3 })).toBe("INVALID_MAX_BYTES");
    expect(apply({ overflow: "block" })).toBe("INVALID_OVERFLOW");
    expect(apply({ retention: "forever" })).toBe("INVALID_RETENTION");
    // <topic>.dead would not be a valid name: the dead-letter topic must be given.
    const long = "t".repeat(62);
    expect(apply({ max_attempts: 3 }, long)).toBe("INVALID_DEAD_LETTER_TOPIC");
    expect(apply({ max_attempts: 3, dead_letter_topic: "dlq" }, long)).toBe("ok");
    expect(apply({ max_attempts: 3 }, "x#ephemeral")).toBe("INVALID_DEAD_LETTER_TOPIC");
  });

  it("names the dead-letter topic <topic>.dead by default, once attempts are limited", () => {
    expect(deadLetterTopic("orders", CHANNEL_DEFAULTS)).toBe("");
    expect(deadLetterTopic("orders", { ...CHANNEL_DEFAULTS, max_attempts: 3 })).toBe("orders.dead");
    expect(deadLetterTopic("orders", { ...CHANNEL_DEFAULTS, dead_letter_topic: "dlq" })).toBe("dlq");
    expect(showChannelSettings("orders", { ...CHANNEL_DEFAULTS, max_attempts: 3, msg_ttl: 60_000 })).toMatchObject({
      dead_letter_topic: "orders.dead",
      msg_ttl: "1m",
      retention: "0s",
    });
  });
});

describe("topic settings", () => {
  it("validates the dedup window (at most 7 days) and content dedup", () => {
    expect(applyTopicChanges(TOPIC_DEFAULTS, JSON.stringify({ dedup_window: "10m", dedup_content: true }))).toEqual({
      msg_ttl: 0,
      dedup_window: 600_000,
      dedup_content: true,
    });
    expect(code(() => applyTopicChanges(TOPIC_DEFAULTS, JSON.stringify({ dedup_window: "200h" })))).toBe("INVALID_DEDUP_WINDOW");
    expect(code(() => applyTopicChanges(TOPIC_DEFAULTS, JSON.stringify({ dedup_content: "yes" })))).toBe("INVALID_DEDUP_CONTENT");
    expect(code(() => applyTopicChanges(TOPIC_DEFAULTS, JSON.stringify({ max_attempts: 1 })))).toBe("INVALID_SETTING");
  });

  it("a channel's TTL in force is the shorter of its own and its topic's", () => {
    expect(effectiveTtl(0, 0)).toBe(0);
    expect(effectiveTtl(5, 0)).toBe(5);
    expect(effectiveTtl(0, 7)).toBe(7);
    expect(effectiveTtl(9, 7)).toBe(7);
  });
});
