// Helpers of the tests of topic and channel settings (src/settings.ts) and their features.
import { expect } from "vitest";
import { http, post } from "../helpers/workers";
import type { ShownMessage } from "../../src/peek";

const q = encodeURIComponent;

/** Creates the topic (if need be) and its channel, as nsqd wants them: topic first. */
export async function createChannel(topic: string, channel: string) {
  for (const path of [`/topic/create?topic=${q(topic)}`, `/channel/create?topic=${q(topic)}&channel=${q(channel)}`]) {
    const res = await post(path);
    expect(res.status, `${path}: ${await res.text()}`).toBe(200);
  }
}

/** POST /channel/config with a JSON body; expects 200 and returns the settings shown. */
export async function configureChannel(topic: string, channel: string, changes: Record<string, unknown>) {
  const res = await post(`/channel/config?topic=${q(topic)}&channel=${q(channel)}`, JSON.stringify(changes));
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return JSON.parse(body) as Record<string, unknown>;
}

export async function configureTopic(topic: string, changes: Record<string, unknown>) {
  const res = await post(`/topic/config?topic=${q(topic)}`, JSON.stringify(changes));
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return JSON.parse(body) as Record<string, unknown>;
}

export type Peeked = ShownMessage;

/** GET /channel/peek's messages. */
export async function peek(topic: string, channel: string, n = 10): Promise<Peeked[]> {
  const res = await http(`/channel/peek?topic=${q(topic)}&channel=${q(channel)}&n=${n}`);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return (JSON.parse(body) as { messages: Peeked[] }).messages;
}

/** POST /pub with headers; returns the status and body. */
export async function pubWith(topic: string, body: string, headers: Record<string, string> = {}, path = "/pub") {
  const res = await http(`${path}?topic=${q(topic)}`, { method: "POST", body, headers });
  return { status: res.status, body: await res.text() };
}
