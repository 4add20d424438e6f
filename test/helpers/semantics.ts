// Helpers for the behaviour tests (fan-out, flow control, timeouts, administration, ephemeral,
// stats) that run inside workerd against the Worker: polling with deadlines instead of fixed
// sleeps, stats and lookup look-ups, and consumers that are closed after each test.
import { env } from "cloudflare:test";
import { afterEach, expect } from "vitest";
import type { MessageFrame } from "../../src/protocol/frames";
import type { ChannelStats, TopicStats } from "../../src/stats";
import { FRAME_MESSAGE, decodeMessage, frameText } from "../../src/protocol/frames";
import { cmd, text, type TestClient } from "./v2client";
import { connect, http, post, statsJson } from "./workers";
import * as wait from "./wait";

export { cmd, text };

const open: TestClient[] = [];

/** Closes every connection a test opened through `client()`, `consumer()` or `producer()`. */
export function closeClientsAfterEach() {
  afterEach(() => {
    for (const c of open.splice(0)) {
      try {
        if (!c.closed) c.close();
      } catch {
        // already gone
      }
    }
  });
}

/** A V2 connection that is closed after the test. */
export async function client(named?: { topic: string; channel: string }): Promise<TestClient> {
  const c = await connect(named);
  open.push(c);
  return c;
}

/**
 * Consumers connect with their channel in the URL (the client library's servedByChannel) when the suite runs
 * with TEST_CONSUMERS=named (test/workers/named.vitest.config.ts), else as any V2 client.
 */
const named = (env as { TEST_CONSUMERS?: string }).TEST_CONSUMERS === "named";

/** IDENTIFY + SUB (+ RDY when rdy > 0). */
export async function consumer(
  topic: string,
  channel: string,
  rdy: number,
  identify: Record<string, unknown> = {},
): Promise<TestClient> {
  const c = await client(named ? { topic, channel } : undefined);
  await c.subscribe(topic, channel, rdy, identify);
  return c;
}

/** A V2 connection past the magic, ready to PUB/MPUB/DPUB. */
export async function producer(): Promise<TestClient> {
  const p = await client();
  p.send(cmd.MAGIC_V2);
  return p;
}

export async function pubV2(p: TestClient, topic: string, body: string) {
  p.send(cmd.pub(topic, body));
  expect(await p.response()).toBe("OK");
}

export async function mpubV2(p: TestClient, topic: string, bodies: string[]) {
  p.send(cmd.mpub(topic, bodies));
  expect(await p.response()).toBe("OK");
}

export async function dpubV2(p: TestClient, topic: string, delayMs: number, body: string) {
  p.send(cmd.dpub(topic, delayMs, body));
  expect(await p.response()).toBe("OK");
}

const q = (s: string) => encodeURIComponent(s);

/** POST /pub; `extra` is more query string (e.g. "&defer=1000"). */
export async function pubHttp(topic: string, body: string, extra = "") {
  const res = await post(`/pub?topic=${q(topic)}${extra}`, body);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("OK");
}

/** POST /mpub, newline-separated. */
export async function mpubHttp(topic: string, bodies: string[]) {
  const res = await post(`/mpub?topic=${q(topic)}`, bodies.join("\n"));
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("OK");
}

/** POST /mpub?binary=true. */
export async function mpubHttpBinary(topic: string, bodies: string[]) {
  const body = cmd.encodeMpubBody(bodies.map((b) => new TextEncoder().encode(b)));
  const res = await post(`/mpub?topic=${q(topic)}&binary=true`, body);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("OK");
}

/** POST to an admin endpoint (e.g. "/channel/pause"); expects 200. */
export async function admin(path: string, topic: string, channel?: string) {
  const chan = channel === undefined ? "" : `&channel=${q(channel)}`;
  const res = await post(`${path}?topic=${q(topic)}${chan}`);
  const body = await res.text();
  expect(res.status, `${path} ${topic} ${channel ?? ""}: ${body}`).toBe(200);
}

/** The topic's entry in /stats (with clients), or null when /stats does not list it. */
export async function topicStats(topic: string): Promise<TopicStats | null> {
  const s = await statsJson(`&topic=${q(topic)}`);
  return (s.topics ?? []).find((t) => t.topic_name === topic) ?? null;
}

/** The channel's entry in /stats, or null. */
export async function channelStats(topic: string, channel: string): Promise<ChannelStats | null> {
  const t = await topicStats(topic);
  return t?.channels.find((c) => c.channel_name === channel) ?? null;
}

/** /lookup's channels for the topic, or null on 404 TOPIC_NOT_FOUND. */
export async function lookupChannels(topic: string): Promise<string[] | null> {
  const res = await http(`/lookup?topic=${q(topic)}`);
  if (res.status === 404) {
    expect(await res.json()).toEqual({ message: "TOPIC_NOT_FOUND" });
    return null;
  }
  expect(res.status).toBe(200);
  return ((await res.json()) as { channels: string[] }).channels;
}

/** /topics' list. */
export async function lookupTopics(): Promise<string[]> {
  const res = await http(`/topics`);
  return ((await res.json()) as { topics: string[] }).topics;
}

/** `eventually` with the short defaults of tests inside workerd (3 s, every 25 ms). */
export const eventually = <T>(check: () => T | Promise<T>, timeoutMs = 3000, everyMs = 25) =>
  wait.eventually(check, timeoutMs, everyMs);

export const sleep = wait.sleep;

/** Receives `n` messages (any other frame fails the test), FINishing each when `fin` is set. */
export async function receive(c: TestClient, n: number, { fin = false, timeoutMs = 5000 } = {}): Promise<MessageFrame[]> {
  const out: MessageFrame[] = [];
  while (out.length < n) {
    const m = await c.message(timeoutMs);
    out.push(m);
    if (fin) c.send(cmd.fin(m.id));
  }
  return out;
}

/** Asserts that nothing but heartbeats arrives within `ms` (describing whatever did). */
export async function expectSilence(c: TestClient, ms: number) {
  const f = await c.maybeNext(ms);
  const what = f === null ? null : f.type === FRAME_MESSAGE ? `message ${text(decodeMessage(f.data))}` : frameText(f);
  expect(what).toBeNull();
}

export const bodies = (ms: MessageFrame[]) => ms.map(text);
