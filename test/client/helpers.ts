// Helpers for the client library tests: the shared service, unique names, stats, polling.
import { expect } from "vitest";
import { channelStats } from "../helpers/service";
import { eventually, sleep } from "../helpers/wait";

export { channelStats, serviceUrl, unique } from "../helpers/service";
export { eventually, sleep };

/** The RDY counts of the channel's clients, as the service sees them. */
export async function readyCounts(base: string, topic: string, channel: string): Promise<number[]> {
  const ch = await channelStats(base, topic, channel);
  return (ch?.clients ?? []).map((c) => c.ready_count);
}

export async function expectReady(base: string, topic: string, channel: string, counts: number[], timeoutMs = 10_000) {
  await eventually(async () => expect(await readyCounts(base, topic, channel)).toEqual(counts), timeoutMs);
}

/** HTTP /pub, as another publisher would. */
export async function pubHttp(base: string, topic: string, body: string) {
  const res = await fetch(`${base}/pub?topic=${encodeURIComponent(topic)}`, { method: "POST", body });
  expect(await res.text()).toBe("OK");
}
