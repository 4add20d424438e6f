// Helpers for the client library tests: the shared service, unique names, stats, polling.
import { expect, inject } from "vitest";

export const serviceUrl = () => inject("serviceUrl");

/** A fresh topic name per test: the service is shared by every file. */
export const unique = (prefix = "t") => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

import { eventually, sleep } from "../helpers/wait";

export { eventually, sleep };

/** The channel's entry in /stats?format=json, or undefined. */
export async function channelStats(base: string, topic: string, channel: string): Promise<any> {
  const res = await fetch(`${base}/stats?format=json&topic=${encodeURIComponent(topic)}&include_clients=true`);
  const stats = (await res.json()) as any;
  const t = stats.topics.find((x: any) => x.topic_name === topic);
  return t?.channels.find((c: any) => c.channel_name === channel);
}

/** The RDY counts of the channel's clients, as the service sees them. */
export async function readyCounts(base: string, topic: string, channel: string): Promise<number[]> {
  const ch = await channelStats(base, topic, channel);
  return (ch?.clients ?? []).map((c: any) => c.ready_count);
}

export async function expectReady(base: string, topic: string, channel: string, counts: number[], timeoutMs = 10_000) {
  await eventually(async () => expect(await readyCounts(base, topic, channel)).toEqual(counts), timeoutMs);
}

/** HTTP /pub, as another publisher would. */
export async function pubHttp(base: string, topic: string, body: string) {
  const res = await fetch(`${base}/pub?topic=${encodeURIComponent(topic)}`, { method: "POST", body });
  expect(await res.text()).toBe("OK");
}
