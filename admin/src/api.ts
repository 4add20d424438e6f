// The service's own HTTP API, same origin: nsqd's /stats and admin endpoints, nsqlookupd's
// /nodes and /lookup. Every call the UI makes goes through these few functions, which send the
// tab's token (./auth.ts) as `Authorization: Bearer` when there is one.

import { dropToken, token, type IdentityAnswer } from "./auth";
import type { Lookup, Nodes } from "../../src/lookupd-answers";
import type { showChannelSettings, showTopicSettings } from "../../src/settings";
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

async function call(method: "GET" | "POST", path: string, params: Record<string, string> = {}, body?: unknown): Promise<Response> {
  const qs = new URLSearchParams(params).toString();
  const headers: Record<string, string> = { Accept: "application/json" };
  const secret = token();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(qs ? `${path}?${qs}` : path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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

/** nsqd's GET /info: the node itself. */
export interface Info {
  version: string;
  broadcast_address: string;
  hostname: string;
  http_port: number;
  tcp_port: number;
  /** Unix seconds. */
  start_time: number;
  /** ns */
  max_heartbeat_interval: number;
  max_output_buffer_size: number;
  /** ns */
  max_output_buffer_timeout: number;
  max_deflate_level: number;
  topology_zone: string;
  topology_region: string;
}

export const info = () => getJson<Info>("/info");
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

/** GET /topic/config's answer (and /stats's `config` of a topic): durations as Go durations. */
export type TopicConfig = ReturnType<typeof showTopicSettings>;
/** GET /channel/config's answer: dead_letter_topic is the effective one ("<topic>.dead"). */
export type ChannelConfig = ReturnType<typeof showChannelSettings>;
/** The keys a config POST changes; null puts a key back to its default. */
export type ConfigChanges = Record<string, string | number | boolean | null>;

/** POST /topic/config: answers every setting as it now is (a bad value: ApiError with its code). */
export const setTopicConfig = async (topic: string, changes: ConfigChanges): Promise<TopicConfig> =>
  (await call("POST", "/topic/config", { topic }, changes)).json() as Promise<TopicConfig>;

export const setChannelConfig = async (topic: string, channel: string, changes: ConfigChanges): Promise<ChannelConfig> =>
  (await call("POST", "/channel/config", { topic, channel }, changes)).json() as Promise<ChannelConfig>;

// What GET /channel/peek answers, as the service defines it.
export type { Origin, ShownMessage as PeekedMessage } from "../../src/peek";
import type { ShownMessage } from "../../src/peek";

/** Up to `n` (at most 100) of a channel's queued messages, taking none. */
export const peek = (topic: string, channel: string, n: number) =>
  getJson<{ topic: string; channel: string; messages: ShownMessage[] }>("/channel/peek", { topic, channel, n: String(n) });

export type RedriveTo = "channel" | "topic";

/** Starts (rate > 0, messages/s) or stops (0) moving a dead-letter channel's messages back. */
export const redrive = async (topic: string, channel: string, rate: number, to: RedriveTo) =>
  (await call("POST", "/channel/redrive", { topic, channel, rate: String(rate), to })).json() as Promise<{ rate: number; to: RedriveTo; running: boolean; moved: number }>;
