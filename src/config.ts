// Limits and timeouts, from wrangler.toml [vars], with nsqd's names and defaults; and auth's
// vars and secrets (src/auth/settings.ts).
import { AUTH_VAR_NAMES, parseAuthSettings, type AuthSettings } from "./auth/settings";
import { parseDuration as parseGoDuration } from "./settings";

export interface Env {
  // Typed by the objects' RPC interfaces (src/objects.ts), not their classes: src/ does not import durable-objects/.
  TOPIC: DurableObjectNamespace<import("./objects").TopicRpc>;
  CHANNEL: DurableObjectNamespace<import("./objects").ChannelRpc>;
  REGISTRY: DurableObjectNamespace<import("./objects").RegistryRpc>;
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
  HTTP_CLIENT_REQUEST_TIMEOUT?: string;
  TOPIC_SHARDS?: string;
  /** nsqd's --e2e-processing-latency-percentiles: e.g. "1.0,0.99,0.95" (none: not recorded). */
  E2E_PROCESSING_LATENCY_PERCENTILES?: string;
  E2E_PROCESSING_LATENCY_WINDOW_TIME?: string;
  AUTH?: string;
  /** A secret: JSON of SHA-256 digest → identity (src/auth/tokens.ts). */
  AUTH_TOKENS?: string;
  AUTH_HTTP_ADDRESS?: string;
  AUTH_HTTP_REQUEST_METHOD?: string;
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
  /** nsqd's --http-client-request-timeout: how long an auth server may take. */
  httpClientRequestTimeout: number;
  /** The shards of a topic created without a count (by a publish or a SUB): src/topic/shards.ts. */
  topicShards: number;
  /** nsqd's e2e processing latency: the quantiles reported (none: not recorded), over this window (ms). */
  e2ePercentiles: number[];
  e2eWindowTime: number;
  auth: AuthSettings;
}

/** Parses a Go duration ("250ms", "60s", "15m", "1h30m": src/settings.ts reads them) or a plain number of milliseconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  const ms = /^\d+(?:\.\d+)?$/.test(t) ? Math.round(Number(t)) : parseGoDuration(t);
  if (ms === null) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The largest MAX_MSG_SIZE that storage can hold: a message is stored in one SQLite value (a
 * segment, src/segment.ts, 36 bytes of header), and Durable Object storage refuses values over
 * 2 MB (SQLITE_TOOBIG: the publish would fail with 503 every time).
 */
export const MAX_STORABLE_MSG_SIZE = 2_000_000 - 64;

type Kind = "bytes" | "count" | "duration";

/** The vars, their kind and nsqd's default: the one definition of what a valid value is. */
export const VARS = {
  MAX_MSG_SIZE: { kind: "bytes", fallback: "1048576" },
  MAX_BODY_SIZE: { kind: "bytes", fallback: "5242880" },
  MAX_RDY_COUNT: { kind: "count", fallback: "2500" },
  MSG_TIMEOUT: { kind: "duration", fallback: "60s" },
  MAX_MSG_TIMEOUT: { kind: "duration", fallback: "15m" },
  MAX_REQ_TIMEOUT: { kind: "duration", fallback: "1h" },
  HEARTBEAT_INTERVAL: { kind: "duration", fallback: "30s" },
  OUTPUT_BUFFER_TIMEOUT: { kind: "duration", fallback: "250ms" },
  HTTP_CLIENT_REQUEST_TIMEOUT: { kind: "duration", fallback: "5s" },
  TOPIC_SHARDS: { kind: "count", fallback: "1" },
  E2E_PROCESSING_LATENCY_WINDOW_TIME: { kind: "duration", fallback: "10m" },
} as const satisfies Record<string, { kind: Kind; fallback: string }>;

export type VarName = keyof typeof VARS;
export const VAR_NAMES = Object.keys(VARS) as VarName[];
/** Every var the service reads: the limits, then auth's (AUTH_TOKENS is a secret, but may be a var locally). */
export const KNOWN_VARS: string[] = [...VAR_NAMES, "E2E_PROCESSING_LATENCY_PERCENTILES", ...AUTH_VAR_NAMES];

/** nsqd's percentile list: comma-separated, each in (0, 1]; empty: none. */
export function parsePercentiles(value: unknown): number[] | string {
  const text = value === undefined ? "" : String(value).trim();
  if (text === "") return [];
  const out = text.split(",").map((p) => (/^\s*\d*\.?\d+\s*$/.test(p) ? Number(p) : NaN));
  if (out.some((p) => !(p > 0 && p <= 1)))
    return `${show("E2E_PROCESSING_LATENCY_PERCENTILES", value)} is not a list of quantiles (expected e.g. 1.0,0.99,0.95, each in (0, 1])`;
  return out;
}

const show = (name: string, value: unknown) => `${name}=${JSON.stringify(String(value))}`;

/** One var's value, or a one-line reason why it is not valid. */
function parseVar(name: VarName, value: unknown): number | string {
  const text = value === undefined || value === "" ? VARS[name].fallback : String(value);
  if (VARS[name].kind === "duration") {
    try {
      return parseDuration(text);
    } catch {
      return `${show(name, value)} is not a duration (expected e.g. 60s, 250ms, 15m)`;
    }
  }
  // Digits only: Number() would also take "1e3", "0x10" or " 12 ".
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || !Number.isSafeInteger(n))
    return `${show(name, value)} is not a positive whole number (expected ${VARS[name].kind === "bytes" ? "a size in bytes, e.g. 1048576" : "e.g. 2500"})`;
  return n;
}

/**
 * The vars as numbers (durations in ms), with the reasons of those that are not valid, one line
 * each. Beyond the form of each value, only what would break the service is refused: nsqd checks
 * none of these at start, but here a zero MSG_TIMEOUT redelivers every message at once, a zero
 * HEARTBEAT_INTERVAL makes every SUB fail ("heartbeats disabled"), a MSG_TIMEOUT over
 * MAX_MSG_TIMEOUT turns TOUCH into a shortening of the timeout and makes IDENTIFY refuse the
 * server's own msg_timeout, and a message over MAX_STORABLE_MSG_SIZE can never be stored.
 */
export function parseVars(env: Partial<Record<string, unknown>>): { values: Record<VarName, number>; auth: AuthSettings; problems: string[] } {
  const values = {} as Record<VarName, number>;
  const problems: string[] = [];
  for (const name of VAR_NAMES) {
    const v = parseVar(name, env[name]);
    if (typeof v === "string") problems.push(v);
    else values[name] = v;
  }
  const ok = (...names: VarName[]) => names.every((n) => n in values);
  const given = (name: VarName) => show(name, env[name] ?? VARS[name].fallback);
  if (ok("MSG_TIMEOUT") && values.MSG_TIMEOUT <= 0) problems.push(`${given("MSG_TIMEOUT")} must be more than 0 (every message would time out as soon as it is delivered)`);
  if (ok("HEARTBEAT_INTERVAL") && values.HEARTBEAT_INTERVAL <= 0) problems.push(`${given("HEARTBEAT_INTERVAL")} must be more than 0 (SUB refuses clients with heartbeats disabled)`);
  if (ok("MSG_TIMEOUT", "MAX_MSG_TIMEOUT") && values.MSG_TIMEOUT > 0 && values.MSG_TIMEOUT > values.MAX_MSG_TIMEOUT)
    problems.push(`${given("MSG_TIMEOUT")} is more than ${given("MAX_MSG_TIMEOUT")} (expected MSG_TIMEOUT <= MAX_MSG_TIMEOUT)`);
  if (ok("MAX_MSG_SIZE") && values.MAX_MSG_SIZE > MAX_STORABLE_MSG_SIZE)
    problems.push(`${given("MAX_MSG_SIZE")} is more than ${MAX_STORABLE_MSG_SIZE} (a message is stored as one Durable Object SQLite value, at most 2 MB)`);
  if (ok("HTTP_CLIENT_REQUEST_TIMEOUT") && values.HTTP_CLIENT_REQUEST_TIMEOUT <= 0)
    problems.push(`${given("HTTP_CLIENT_REQUEST_TIMEOUT")} must be more than 0`);
  if (ok("TOPIC_SHARDS") && values.TOPIC_SHARDS > 64) problems.push(`${given("TOPIC_SHARDS")} is more than 64 (the most shards a topic may have)`);
  if (ok("E2E_PROCESSING_LATENCY_WINDOW_TIME") && values.E2E_PROCESSING_LATENCY_WINDOW_TIME <= 0)
    problems.push(`${given("E2E_PROCESSING_LATENCY_WINDOW_TIME")} must be more than 0`);
  const percentiles = parsePercentiles(env.E2E_PROCESSING_LATENCY_PERCENTILES);
  if (typeof percentiles === "string") problems.push(percentiles);
  const auth = parseAuthSettings(env);
  problems.push(...auth.problems);
  return { values, auth: auth.settings, problems };
}

/** The reasons why these vars (wrangler.toml [vars] with any overrides) are not valid; [] if they are. */
export function validateVars(env: Partial<Record<string, unknown>>): string[] {
  return parseVars(env).problems;
}

const cache = new WeakMap<object, Config>();

export function config(env: Partial<Env>): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const { values: v, auth, problems } = parseVars(env);
  if (problems.length) throw new Error(problems.join("; "));
  const c: Config = {
    maxMsgSize: v.MAX_MSG_SIZE,
    maxBodySize: v.MAX_BODY_SIZE,
    maxRdyCount: v.MAX_RDY_COUNT,
    msgTimeout: v.MSG_TIMEOUT,
    maxMsgTimeout: v.MAX_MSG_TIMEOUT,
    maxReqTimeout: v.MAX_REQ_TIMEOUT,
    heartbeatInterval: v.HEARTBEAT_INTERVAL,
    maxHeartbeatInterval: 60_000,
    outputBufferTimeout: v.OUTPUT_BUFFER_TIMEOUT,
    minOutputBufferTimeout: 25,
    maxOutputBufferTimeout: 30_000,
    outputBufferSize: 16 * 1024,
    maxOutputBufferSize: 64 * 1024,
    httpClientRequestTimeout: v.HTTP_CLIENT_REQUEST_TIMEOUT,
    topicShards: v.TOPIC_SHARDS,
    e2ePercentiles: parsePercentiles(env.E2E_PROCESSING_LATENCY_PERCENTILES) as number[],
    e2eWindowTime: v.E2E_PROCESSING_LATENCY_WINDOW_TIME,
    auth,
  };
  cache.set(env, c);
  return c;
}

// The nsqd version we answer to; clients read it from IDENTIFY and /info.
export const VERSION = "1.3.0";
