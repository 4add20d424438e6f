// The service's own HTTP API, same origin: nsqd's /stats and admin endpoints, nsqlookupd's
// /nodes and /lookup. Every call the UI makes goes through these few functions, which send the
// tab's token (./auth.ts) as `Authorization: Bearer` when there is one.

import { dropToken, token, type IdentityAnswer } from "./auth";
import type { Lookup, Nodes } from "../../src/lookupd-answers";
import type { Stats } from "../../src/stats";

export type { ChannelStats, ClientStats, Latency, Percentile, Stats, TopicStats } from "../../src/stats";

export type { Lookup, NodeInfo, Nodes, PeerInfo } from "../../src/lookupd-answers";

/** An answer other than 2xx: nsqd's {"message": "..."} when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let unauthorized: (sent: boolean) => void = () => {};

/** What to do when the service answers 401 (`sent`: a token went with the call); the token is dropped first. */
export function onUnauthorized(fn: (sent: boolean) => void) {
  unauthorized = fn;
}

async function call(method: "GET" | "POST", path: string, params: Record<string, string> = {}): Promise<Response> {
  const qs = new URLSearchParams(params).toString();
  const headers: Record<string, string> = { Accept: "application/json" };
  const secret = token();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  const res = await fetch(qs ? `${path}?${qs}` : path, { method, headers });
  if (res.status === 401) {
    // No token, or one the service no longer accepts: back to the login form.
    dropToken();
    unauthorized(secret !== null);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { message?: string };
      if (body.message) message = body.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, message);
  }
  return res;
}

const getJson = async <T>(path: string, params?: Record<string, string>): Promise<T> =>
  (await call("GET", path, params)).json() as Promise<T>;

/** /stats?format=json, narrowed to a topic (and channel) when the page needs no more. */
export function stats(filter: { topic?: string; channel?: string; clients?: boolean } = {}): Promise<Stats> {
  const params: Record<string, string> = { format: "json", include_clients: String(!!filter.clients), include_mem: "false" };
  if (filter.topic) params.topic = filter.topic;
  if (filter.channel) params.channel = filter.channel;
  return getJson<Stats>("/stats", params);
}

/** Who the token is (GET /identity): auth_required false when the service runs without auth. */
export const identity = () => getJson<IdentityAnswer | { auth_required: false }>("/identity");

export const nodes = () => getJson<Nodes>("/nodes");
export const topics = () => getJson<{ topics: string[] }>("/topics");
export const lookup = (topic: string) => getJson<Lookup>("/lookup", { topic });

export type TopicAction = "create" | "delete" | "empty" | "pause" | "unpause";
export type ChannelAction = "create" | "delete" | "empty" | "pause" | "unpause";

export async function topicAction(action: TopicAction, topic: string): Promise<void> {
  await call("POST", `/topic/${action}`, { topic });
}

/** Adds shards to a live topic (nsq-edge's POST /topic/shards): `n` is the new count. */
export async function addShards(topic: string, n: number): Promise<void> {
  await call("POST", "/topic/shards", { topic, n: String(n) });
}

export async function channelAction(action: ChannelAction, topic: string, channel: string): Promise<void> {
  await call("POST", `/channel/${action}`, { topic, channel });
}
