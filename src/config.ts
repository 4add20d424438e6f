// Limits and timeouts, from wrangler.toml [vars], with nsqd's names and defaults.

export interface Env {
  TOPIC: DurableObjectNamespace<import("../durable-objects/topic").TopicObject>;
  CHANNEL: DurableObjectNamespace<import("../durable-objects/channel").ChannelObject>;
  REGISTRY: DurableObjectNamespace<import("../durable-objects/registry").RegistryObject>;
  /** The admin UI's files (wrangler.toml [assets]), served under /admin. */
  ASSETS: Fetcher;
  MAX_MSG_SIZE?: string;
  MAX_BODY_SIZE?: string;
  MAX_RDY_COUNT?: string;
  MSG_TIMEOUT?: string;
  MAX_MSG_TIMEOUT?: string;
  MAX_REQ_TIMEOUT?: string;
  HEARTBEAT_INTERVAL?: string;
  OUTPUT_BUFFER_TIMEOUT?: string;
}

export interface Config {
  maxMsgSize: number;
  maxBodySize: number;
  maxRdyCount: number;
  /** All durations in milliseconds. */
  msgTimeout: number;
  maxMsgTimeout: number;
  maxReqTimeout: number;
  heartbeatInterval: number;
  maxHeartbeatInterval: number;
  outputBufferTimeout: number;
  minOutputBufferTimeout: number;
  maxOutputBufferTimeout: number;
  outputBufferSize: number;
  maxOutputBufferSize: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration ("250ms", "60s", "15m", "1h") or a plain number of milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "ms"]);
}

function int(text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`invalid number ${JSON.stringify(text)}`);
  return n;
}

const duration = (text: string | undefined, fallback: number) =>
  text === undefined || text === "" ? fallback : parseDuration(text);

const cache = new WeakMap<object, Config>();

export function config(env: Partial<Env>): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const c: Config = {
    maxMsgSize: int(env.MAX_MSG_SIZE, 1024 * 1024),
    maxBodySize: int(env.MAX_BODY_SIZE, 5 * 1024 * 1024),
    maxRdyCount: int(env.MAX_RDY_COUNT, 2500),
    msgTimeout: duration(env.MSG_TIMEOUT, 60_000),
    maxMsgTimeout: duration(env.MAX_MSG_TIMEOUT, 15 * 60_000),
    maxReqTimeout: duration(env.MAX_REQ_TIMEOUT, 3_600_000),
    heartbeatInterval: duration(env.HEARTBEAT_INTERVAL, 30_000),
    maxHeartbeatInterval: 60_000,
    outputBufferTimeout: duration(env.OUTPUT_BUFFER_TIMEOUT, 250),
    minOutputBufferTimeout: 25,
    maxOutputBufferTimeout: 30_000,
    outputBufferSize: 16 * 1024,
    maxOutputBufferSize: 64 * 1024,
  };
  cache.set(env, c);
  return c;
}

// The nsqd version we answer to; clients read it from IDENTIFY and /info.
export const VERSION = "1.3.0";
