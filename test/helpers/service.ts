// Helpers for the suites that share one running service (client, bridge): its URL, fresh names,
// a channel's /stats entry.
import { inject } from "vitest";
import type { ChannelStats, Stats } from "../../src/stats";

declare module "vitest" {
  export interface ProvidedContext {
    serviceUrl: string;
  }
}

/** The service's base URL, provided by the suite's global setup. */
export const serviceUrl = () => inject("serviceUrl");

/** A fresh name per test: the service is shared by every file. */
export const unique = (prefix = "t") => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** The channel's entry in the service's /stats?format=json, or undefined. */
export async function channelStats(base: string, topic: string, channel: string): Promise<ChannelStats | undefined> {
  const res = await fetch(`${base}/stats?format=json&topic=${encodeURIComponent(topic)}&include_clients=true`);
  const stats = (await res.json()) as Stats;
  const t = stats.topics?.find((x) => x.topic_name === topic);
  return t?.channels.find((c) => c.channel_name === channel);
}
