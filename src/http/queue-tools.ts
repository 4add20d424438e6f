// Looking into a channel's queue and moving dead letters back (nsq-edge's):
//
//   GET  /channel/peek?topic=&channel=&n=            up to n queued messages, changing nothing
//   POST /channel/redrive?topic=&channel=&rate=&to=  a dead-letter channel's messages back to
//                                                    their channel (to=channel) or topic, rate/s
//   POST /channel/seek?topic=&channel=&ts=           messages published at or after ts ready
//                                                    again (FINished ones from the retention),
//                                                    those before done; ts=now skips the backlog
import type { Context } from "hono";
import type { Env } from "../config";
import { hexId } from "../message";
import type { PeekedMessage, RedriveState } from "../objects";
import { originOf } from "../channel/dead-letters";
import type { ShownMessage } from "../peek";
import { channelStub } from "../stubs";
import { HttpError, nsqJson, query } from "./respond";
import { channelArgs, shardNames, type RouteFn } from "./nsqd";

type C = Context<{ Bindings: Env }>;

const PEEK_DEFAULT = 10;
const PEEK_MAX = 100;
const REDRIVE_MAX_RATE = 10_000;

export function queueToolRoutes(route: RouteFn) {
  route("GET", "/channel/peek", "admin", peek);
  route("POST", "/channel/redrive", "admin", redrive);
  route("POST", "/channel/seek", "admin", seek);
}

/** A seek's time: now, milliseconds since the epoch, or an ISO 8601 date; null for now. */
export function seekTime(v: string | undefined): number | null {
  if (v === undefined) throw new HttpError(400, "MISSING_ARG_TS");
  if (v === "now") return null;
  const ms = /^\d+$/.test(v) ? Number(v) : /^\d{4}-\d\d-\d\d/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(ms)) throw new HttpError(400, "INVALID_TS");
  return ms;
}

async function seek(c: C) {
  const [topic, channel] = await channelArgs(c);
  const t = seekTime(query(c).get("ts"));
  const ready = await Promise.all((await shardNames(c.env, topic)).map((s) => channelStub(c.env, s, channel).seek(t)));
  return nsqJson({ ready: ready.reduce((n, r) => n + Math.max(0, r), 0) });
}

function intParam(v: string | undefined, fallback: number, max: number, code: string): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) > max) throw new HttpError(400, code);
  return Number(v);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A body as text when it is printable UTF-8, else base64. */
function showBody(body: Uint8Array): { body: string; body_encoding: "utf8" | "base64" } {
  try {
    const text = utf8.decode(body);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { body: text, body_encoding: "utf8" };
  } catch {
    // not UTF-8
  }
  let s = "";
  for (let i = 0; i < body.length; i += 0x8000) s += String.fromCharCode(...body.subarray(i, i + 0x8000));
  return { body: btoa(s), body_encoding: "base64" };
}

function shown(m: PeekedMessage): ShownMessage {
  const origin = originOf(m.meta);
  return {
    id: hexId(m.id),
    timestamp: m.ts,
    attempts: m.attempts,
    ...showBody(m.body),
    ...(m.due > 0 ? { deferred_until: m.due } : {}),
    ...(origin ? { origin } : {}),
  };
}

async function peek(c: C) {
  const [topic, channel] = await channelArgs(c);
  const n = intParam(query(c).get("n"), PEEK_DEFAULT, PEEK_MAX, "INVALID_N");
  const out: PeekedMessage[] = [];
  // Shard by shard, until n (a sharded channel's order is per shard, as its deliveries are).
  for (const shard of await shardNames(c.env, topic)) {
    if (out.length >= n) break;
    out.push(...(await channelStub(c.env, shard, channel).peek(n - out.length)));
  }
  return nsqJson({ topic, channel, messages: out.map(shown) });
}

async function redrive(c: C) {
  const [topic, channel] = await channelArgs(c);
  const q = query(c);
  const rate = intParam(q.get("rate"), 100, REDRIVE_MAX_RATE, "INVALID_RATE");
  const to = q.get("to") ?? "channel";
  if (to !== "channel" && to !== "topic") throw new HttpError(400, "INVALID_TO");
  const states: (RedriveState | null)[] = await Promise.all(
    (await shardNames(c.env, topic)).map((s) => channelStub(c.env, s, channel).redrive(rate, to)),
  );
  const running = states.filter((s) => s !== null) as RedriveState[];
  return nsqJson({
    rate,
    to,
    running: running.some((s) => s.running),
    moved: running.reduce((n, s) => n + s.moved, 0),
  });
}
