// nsqd's HTTP API (v1): same paths, parameters, bodies, status codes and error strings.
//
//   GET  /ping                     GET  /info                    GET /stats
//   POST /pub?topic=&defer=        POST /mpub?topic=&binary=      (nsq-edge's: &key=)
//   POST /topic/create?topic=&shards=   POST /topic/delete|empty|pause|unpause?topic=
//   POST /topic/shards?topic=&n=        (nsq-edge's: adds shards to a live topic)
//   POST /channel/create|delete|empty|pause|unpause?topic=&channel=
//   (nsq-edge's settings, peek and redrive: src/http/settings.ts, src/http/queue-tools.ts)
import type { Context } from "hono";
import { visibleTo, type Access } from "./auth";
import { config, VERSION, type Env } from "../config";
import { concatAll } from "../protocol/commands";
import { decodeMpubBody } from "../protocol/mpub";
import { ProtocolError } from "../protocol/errors";
import { isValidName } from "../protocol/names";
import { registryStub, channelStub, topicStub, publishToTopic, shardsOf, knownShards, forgetShards } from "../stubs";
import { parseShards, shardName } from "../topic/shards";
import { mergeShards, type TopicStats } from "../stats";
import { latencyOf, mergeHistograms } from "../channel/latency";
import { boolParam, goJson, HttpError, nsqEmpty, nsqJson, nsqText, query } from "./respond";
import { statsText } from "./stats-text";
import { MAX_IDEMPOTENCY_KEY } from "../objects";

type C = Context<{ Bindings: Env }>;

/** When this Worker isolate started: nsqd's start_time. */
export const START_TIME = Math.floor(Date.now() / 1000);

export function nsqdRoutes(route: RouteFn) {
  route("GET", "/ping", "open", () => new Response("OK", { headers: { "Content-Type": "text/plain; charset=utf-8" } }));
  route("GET", "/info", "open", info);
  route("POST", "/pub", "publish", pub);
  route("POST", "/mpub", "publish", mpub);
  route("GET", "/stats", "read", stats);
  route("POST", "/topic/create", "admin", topicCreate);
  route("POST", "/topic/shards", "admin", topicShards);
  route("POST", "/topic/delete", "admin", topicAdmin("delete"));
  route("POST", "/topic/empty", "admin", topicAdmin("empty"));
  route("POST", "/topic/pause", "admin", topicAdmin("pause"));
  route("POST", "/topic/unpause", "admin", topicAdmin("unpause"));
  route("POST", "/channel/create", "admin", channelAdmin("create"));
  route("POST", "/channel/delete", "admin", channelAdmin("delete"));
  route("POST", "/channel/empty", "admin", channelAdmin("empty"));
  route("POST", "/channel/pause", "admin", channelAdmin("pause"));
  route("POST", "/channel/unpause", "admin", channelAdmin("unpause"));
}

export type RouteFn = (method: string, path: string, access: Access, handler: (c: C) => Response | Promise<Response>) => void;

/** The port a request came to (nsqd's http_port and, with /ws on it, its tcp_port too). */
export function requestPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

function info(c: C) {
  const url = new URL(c.req.url);
  const cfg = config(c.env);
  const port = requestPort(url);
  return nsqJson({
    version: VERSION,
    broadcast_address: url.hostname,
    hostname: url.hostname,
    http_port: port,
    // The V2 protocol is served on the same port, as a WebSocket at /ws.
    tcp_port: port,
    start_time: START_TIME,
    max_heartbeat_interval: cfg.maxHeartbeatInterval * 1e6,
    max_output_buffer_size: cfg.maxOutputBufferSize,
    max_output_buffer_timeout: cfg.maxOutputBufferTimeout * 1e6,
    max_deflate_level: 6,
    topology_zone: "",
    topology_region: "",
  });
}

/** nsqd's getTopicFromQuery: MISSING_ARG_TOPIC, INVALID_TOPIC. */
export function topicParam(q: ReadonlyMap<string, string>): string {
  const topic = q.get("topic");
  if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
  if (!isValidName(topic)) throw new HttpError(400, "INVALID_TOPIC");
  return topic;
}

function contentLength(c: C): number | null {
  const h = c.req.header("content-length");
  return h === undefined ? null : Number(h);
}

/**
 * The body, or `null` once it passes `max` bytes: a chunked body (no Content-Length to refuse
 * up front) is read no further than that, as nsqd's io.LimitReader, instead of to its end.
 */
async function readBody(c: C, max: number): Promise<Uint8Array | null> {
  // With a declared length within the bound (callers refuse a larger one first), one read is
  // cheaper than a reader's chunks: the runtime delivers the body it counted.
  const declared = contentLength(c);
  if (declared !== null && declared <= max) return new Uint8Array(await c.req.raw.arrayBuffer());
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  // (A view over a larger buffer would carry all of it through structured clone to the topic.)
  if (chunks.length === 1 && chunks[0]!.byteLength === chunks[0]!.buffer.byteLength) return chunks[0]!;
  return concatAll(chunks);
}

/** The object names of a topic's shards, draining ones included (just the topic's own when unsharded). */
export async function shardNames(env: Env, topic: string): Promise<string[]> {
  const n = await shardsOf(env, topic, true);
  return Array.from({ length: n }, (_, i) => shardName(topic, i));
}

async function publish(c: C, topic: string, bodies: Uint8Array[], deferMs = 0) {
  // A key keeps its messages on one shard, in order (nsq-edge's).
  const key = query(c).get("key");
  // A repeat within the topic's dedup_window is answered OK and stored once (src/topic/admission.ts).
  const idempotencyKey = c.req.header("idempotency-key");
  if (idempotencyKey !== undefined && (idempotencyKey === "" || idempotencyKey.length > MAX_IDEMPOTENCY_KEY)) {
    throw new HttpError(400, "INVALID_IDEMPOTENCY_KEY");
  }
  let refused: string | null;
  try {
    refused = await publishToTopic(c.env, waitUntilOf(c), topic, { bodies, deferMs, ...(idempotencyKey !== undefined ? { key: idempotencyKey } : {}) }, key);
  } catch (e) {
    console.error(`publish to ${topic} failed: ${e}`);
    throw new HttpError(503, "EXITING");
  }
  // A channel with overflow reject is full: stored nowhere (507 Insufficient Storage).
  if (refused !== null) throw new HttpError(507, refused);
}

/** The request's waitUntil (a test's request may come without an execution context). */
function waitUntilOf(c: C): (p: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return () => {};
  }
}

async function pub(c: C) {
  const cfg = config(c.env);
  const declared = contentLength(c);
  if (declared !== null && declared > cfg.maxMsgSize) throw new HttpError(413, "MSG_TOO_BIG");
  const body = await readBody(c, cfg.maxMsgSize);
  if (body === null) throw new HttpError(413, "MSG_TOO_BIG");
  if (body.length === 0) throw new HttpError(400, "MSG_EMPTY");
  const q = query(c);
  const topic = topicParam(q);
  let deferMs = 0;
  const defer = q.get("defer");
  if (defer !== undefined) {
    deferMs = /^[+-]?\d+$/.test(defer) ? Number(defer) : NaN;
    if (!(deferMs >= 0 && deferMs <= cfg.maxReqTimeout)) {
      // nsqd creates the topic before it looks at defer.
      await topicStub(c.env, topic).create(topic);
      throw new HttpError(400, "INVALID_DEFER");
    }
  }
  await publish(c, topic, [body], deferMs);
  return nsqText("OK");
}

async function mpub(c: C) {
  const cfg = config(c.env);
  const declared = contentLength(c);
  if (declared !== null && declared > cfg.maxBodySize) throw new HttpError(413, "BODY_TOO_BIG");
  const q = query(c);
  const topic = topicParam(q);
  // Any value but false/0 means binary, as in nsqd (which only deprecates the other spellings).
  const binary = q.has("binary") && boolParam(q.get("binary"), true);
  let bodies: Uint8Array[];
  try {
    const body = await readBody(c, cfg.maxBodySize);
    if (body === null) throw new HttpError(413, "BODY_TOO_BIG");
    if (binary) {
      try {
        bodies = decodeMpubBody(body, cfg.maxMsgSize, cfg.maxBodySize);
      } catch (e) {
        if (e instanceof ProtocolError) throw new HttpError(413, e.code.slice(2));
        throw e;
      }
    } else {
      bodies = splitLines(body, cfg.maxMsgSize);
    }
  } catch (e) {
    // nsqd creates the topic before it reads the body, so a bad body leaves the topic behind.
    if (e instanceof HttpError) await topicStub(c.env, topic).create(topic);
    throw e;
  }
  if (bodies.length === 0) {
    await topicStub(c.env, topic).create(topic);
  } else {
    await publish(c, topic, bodies);
  }
  return nsqText("OK");
}

/** Newline-separated messages: "\n" only ("\r" is kept), empty lines skipped. */
function splitLines(body: Uint8Array, maxMsgSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    if (end - start > maxMsgSize) throw new HttpError(413, "MSG_TOO_BIG");
    if (end > start) out.push(body.subarray(start, end));
    start = end + 1;
  }
  return out;
}

async function topicCreate(c: C) {
  const q = query(c);
  const topic = topicParam(q);
  const asked = q.get("shards");
  const shards = asked === undefined ? config(c.env).topicShards : parseShards(asked);
  if (shards === null) throw new HttpError(400, "INVALID_SHARDS");
  // Shard 0 first: it holds the count (and an existing topic keeps the one it has).
  await topicStub(c.env, topic).create(topic, shards);
  const n = await topicStub(c.env, topic).shardCount();
  knownShards(topic, n);
  await Promise.all(Array.from({ length: n - 1 }, (_, i) => topicStub(c.env, shardName(topic, i + 1)).create(shardName(topic, i + 1))));
  return nsqEmpty();
}

/**
 * Adds shards to a live topic (src/topic/shards.ts): the new shard objects get every channel of
 * the topic (and its pause) before shard 0 counts them, so nothing published to them waits
 * without a channel; consumers' sessions link to them within seconds (src/v2/session.ts).
 */
async function topicShards(c: C) {
  const q = query(c);
  const topic = topicParam(q);
  const n = parseShards(q.get("n") ?? "");
  if (n === null) throw new HttpError(400, "INVALID_SHARDS");
  const first = topicStub(c.env, topic);
  if (!(await first.exists())) throw new HttpError(404, "TOPIC_NOT_FOUND");
  const have = await first.shardCount();
  if (n === have) return nsqEmpty();
  if (n < have) {
    // Shards n.. drain: no more publishes, delivered until empty, then deleted (shard 0's alarm).
    await first.shrinkShards(n);
    knownShards(topic, n, await first.shardsAllowed());
    return nsqEmpty();
  }
  // (Shards still draining from an earlier shrink are not brought back.)
  if ((await first.shardsAllowed()) > have) throw new HttpError(409, "SHARDS_DRAINING");
  const floor = await first.prepareShards(n);
  const channels = await registryStub(c.env).channels(topic);
  const paused = (await first.stats(undefined, false))?.paused ?? false;
  // The new shards get the topic's settings and each channel's (src/settings.ts), as shard 0 has them.
  const topicSettings = await first.settings();
  const channelSettings = await Promise.all(channels.map((ch) => channelStub(c.env, topic, ch).settings()));
  await Promise.all(
    Array.from({ length: n - have }, async (_, k) => {
      const shard = shardName(topic, have + k);
      const stub = topicStub(c.env, shard);
      await stub.create(shard, 1, floor);
      if (paused) await stub.setPaused(true);
      if (topicSettings) await stub.configure(topicSettings);
      for (const [i, ch] of channels.entries()) {
        await stub.createChannel(shard, ch);
        const settings = channelSettings[i];
        if (settings) await stub.configureChannel(ch, settings);
      }
    }),
  );
  await first.addShards(n);
  knownShards(topic, n);
  return nsqEmpty();
}

function topicAdmin(action: "delete" | "empty" | "pause" | "unpause") {
  return async (c: C) => {
    const q = query(c);
    const topic = q.get("topic");
    if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
    // nsqd validates the name for empty only; delete and pause just find no such topic.
    if (action === "empty" && !isValidName(topic)) throw new HttpError(400, "INVALID_TOPIC");
    // Every shard; shard 0's answer is the topic's (it is deleted last: it holds the count).
    const [first, ...rest] = isValidName(topic) ? await shardNames(c.env, topic) : [topic];
    const apply = (name: string) => {
      const stub = topicStub(c.env, name);
      return action === "delete" ? stub.delete() : action === "empty" ? stub.empty() : stub.setPaused(action === "pause");
    };
    await Promise.all(rest.map(apply));
    const found = await apply(first!);
    if (action === "delete") forgetShards(topic);
    if (!found) throw new HttpError(404, "TOPIC_NOT_FOUND");
    return nsqEmpty();
  };
}

/** nsqd's GetTopicChannelArgs, then the topic must exist. */
export async function topicChannelArgs(c: C): Promise<[string, string]> {
  const q = query(c);
  const topic = q.get("topic");
  if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
  if (!isValidName(topic)) throw new HttpError(400, "INVALID_ARG_TOPIC");
  const channel = q.get("channel");
  if (channel === undefined) throw new HttpError(400, "MISSING_ARG_CHANNEL");
  if (!isValidName(channel)) throw new HttpError(400, "INVALID_ARG_CHANNEL");
  if (!(await topicStub(c.env, topic).exists())) throw new HttpError(404, "TOPIC_NOT_FOUND");
  return [topic, channel];
}

/** topicChannelArgs, and the channel must exist (404 CHANNEL_NOT_FOUND). */
export async function channelArgs(c: C): Promise<[string, string]> {
  const [topic, channel] = await topicChannelArgs(c);
  if (!(await topicStub(c.env, topic).hasChannel(channel))) throw new HttpError(404, "CHANNEL_NOT_FOUND");
  return [topic, channel];
}

function channelAdmin(action: "create" | "delete" | "empty" | "pause" | "unpause") {
  return async (c: C) => {
    const [topic, channel] = await topicChannelArgs(c);
    // On every shard; shard 0's answer is the channel's.
    const shards = await shardNames(c.env, topic);
    if (action === "create") {
      await Promise.all(shards.map((s) => topicStub(c.env, s).createChannel(s, channel)));
      return nsqEmpty();
    }
    if (action === "delete") {
      const found = await Promise.all(shards.map((s) => topicStub(c.env, s).deleteChannel(channel)));
      if (!found[0]) throw new HttpError(404, "CHANNEL_NOT_FOUND");
      return nsqEmpty();
    }
    if (!(await topicStub(c.env, topic).hasChannel(channel))) throw new HttpError(404, "CHANNEL_NOT_FOUND");
    const found = await Promise.all(
      shards.map((s) => {
        const stub = channelStub(c.env, s, channel);
        return action === "empty" ? stub.empty() : stub.setPaused(action === "pause");
      }),
    );
    if (!found[0]) throw new HttpError(404, "CHANNEL_NOT_FOUND");
    return nsqEmpty();
  };
}

/** Topics asked about at once, at most: a scrape of thousands calls a bounded number of objects at a time. */
const STATS_FAN_OUT = 32;

/**
 * Every topic's stats as its objects report them (sharded ones merged), histograms and request
 * counts still in: what /stats and /metrics answer from. `topics`: those to ask about.
 */
export async function gatherTopics(env: Env, topics: string[], channelFilter: string | undefined, includeClients: boolean): Promise<TopicStats[]> {
  const percentiles = config(env).e2ePercentiles;
  const latency = (hs: (number[][] | undefined)[]) => latencyOf(mergeHistograms(hs), percentiles);
  const one = async (t: string): Promise<TopicStats | null> => {
    const shards = await shardNames(env, t);
    // (RPC results are typed as the value & Disposable: hold them as plain values.)
    const each: (TopicStats | null)[] = await Promise.all(shards.map((s) => topicStub(env, s).stats(channelFilter, includeClients)));
    if (each.length === 1 || each[0] === null) return each[0] ?? null;
    return mergeShards(t, each.filter((x) => x !== null), latency);
  };
  const out: (TopicStats | null)[] = new Array(topics.length).fill(null);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(STATS_FAN_OUT, topics.length) }, async () => {
      while (next < topics.length) {
        const i = next++;
        out[i] = await one(topics[i]!);
      }
    }),
  );
  return out.filter((t) => t !== null);
}

async function stats(c: C) {
  const q = query(c);
  const topicFilter = q.get("topic") || undefined;
  const channelFilter = q.get("channel") || undefined;
  const includeClients = boolParam(q.get("include_clients"), true);
  const includeMem = boolParam(q.get("include_mem"), true);
  // nsq-edge's: each object's count of events taken (the benchmark's calls per object).
  const includeRequests = boolParam(q.get("include_requests"), false);
  const see = visibleTo(c);
  let names: string[] = (await registryStub(c.env).topics()).filter((t) => see(t));
  if (topicFilter !== undefined) names = names.filter((t) => t === topicFilter);
  const found = (await gatherTopics(c.env, names, channelFilter, includeClients)).map((t) =>
    withoutInternals({ ...t, channels: t.channels.filter((ch) => see(t.topic_name, ch.channel_name)) }, includeRequests),
  );
  // nsqd answers an unknown topic filter with empty stats (topics null); a channel filter
  // leaves out the topics without that channel.
  const topics = topicFilter !== undefined && found.length === 0 ? null
    : channelFilter !== undefined ? found.filter((t) => t.channels.length > 0)
    : found;
  const doc: Record<string, unknown> = { version: VERSION, health: "OK", start_time: START_TIME, topics };
  if (includeMem) doc.memory = MEMORY;
  // Publishers are stateless Worker requests here: nsqd's producers list has nothing to show.
  doc.producers = null;
  if (q.get("format") === "json") return nsqJson(doc);
  return nsqText(statsText(doc as never, START_TIME));
}

/** What /stats answers: without the latency histograms (kept for merging), and the request counts unless asked for. */
function withoutInternals(t: TopicStats, includeRequests: boolean): TopicStats {
  const { requests, shards, e2e_histogram: _, ...rest } = t;
  const out: TopicStats = {
    ...rest,
    channels: t.channels.map(({ requests: r, e2e_histogram: __, ...ch }) => (includeRequests && r !== undefined ? { ...ch, requests: r } : ch)),
  };
  if (includeRequests && requests !== undefined) out.requests = requests;
  if (shards) out.shards = shards.map((s) => withoutInternals(s, includeRequests));
  return out;
}

/** Go runtime memory figures have no equivalent inside a Worker; the keys stay for tools. */
const MEMORY = {
  heap_objects: 0,
  heap_idle_bytes: 0,
  heap_in_use_bytes: 0,
  heap_released_bytes: 0,
  gc_pause_usec_100: 0,
  gc_pause_usec_99: 0,
  gc_pause_usec_95: 0,
  next_gc_bytes: 0,
  gc_total_runs: 0,
};

export { goJson };
