// Topic and channel settings over HTTP (nsq-edge's; src/settings.ts has the model):
//
//   GET  /topic/config?topic=                 POST /topic/config?topic=            {JSON}
//   GET  /channel/config?topic=&channel=      POST /channel/config?topic=&channel= {JSON}
//
// A POST's body is a JSON object of the keys to change (null: back to the default); the answer
// is every setting as it now is. Applied to every shard of a sharded topic.
import type { Context } from "hono";
import type { Env } from "../config";
import { applyChannelChanges, applyTopicChanges, SettingsError, showChannelSettings, showTopicSettings } from "../settings";
import { channelStub, topicStub } from "../stubs";
import { HttpError, nsqJson, query } from "./respond";
import { channelArgs, shardNames, topicParam, type RouteFn } from "./nsqd";

type C = Context<{ Bindings: Env }>;

/** A settings body is small: refuse more before reading it. */
const MAX_BODY = 64 * 1024;

export function settingsRoutes(route: RouteFn) {
  route("GET", "/topic/config", "admin", topicConfig);
  route("POST", "/topic/config", "admin", topicConfig);
  route("GET", "/channel/config", "admin", channelConfig);
  route("POST", "/channel/config", "admin", channelConfig);
}

async function body(c: C): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > MAX_BODY) throw new HttpError(413, "BODY_TOO_BIG");
  const text = await c.req.text();
  if (text.length > MAX_BODY) throw new HttpError(413, "BODY_TOO_BIG");
  return text;
}

/** A SettingsError is the client's: 400 with its code. */
function validated<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SettingsError) throw new HttpError(400, e.message);
    throw e;
  }
}

async function topicConfig(c: C) {
  const topic = topicParam(query(c));
  const current = await topicStub(c.env, topic).settings();
  if (current === null) throw new HttpError(404, "TOPIC_NOT_FOUND");
  if (c.req.method === "GET") return nsqJson(showTopicSettings(current));
  const text = await body(c);
  const next = validated(() => applyTopicChanges(current, text));
  await Promise.all((await shardNames(c.env, topic)).map((s) => topicStub(c.env, s).configure(next)));
  return nsqJson(showTopicSettings(next));
}

async function channelConfig(c: C) {
  const [topic, channel] = await channelArgs(c);
  const current = await channelStub(c.env, topic, channel).settings();
  if (current === null) throw new HttpError(404, "CHANNEL_NOT_FOUND");
  if (c.req.method === "GET") return nsqJson(showChannelSettings(topic, current));
  const text = await body(c);
  const next = validated(() => applyChannelChanges(topic, current, text));
  await Promise.all((await shardNames(c.env, topic)).map((s) => topicStub(c.env, s).configureChannel(channel, next)));
  return nsqJson(showChannelSettings(topic, next));
}
