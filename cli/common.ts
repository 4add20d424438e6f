// What every subcommand shares: argument parsing with usage errors, the service URL and token,
// the preflight check that turns an unreachable service, a bad URL or a refused token into one
// clear line, and exit codes (0 ok, 1 runtime failure, 2 usage).
import { parseArgs, type ParseArgsConfig } from "node:util";
import WebSocket from "ws";
import type { WebSocketConstructor } from "../client/src/index.js";

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake in the command line: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure at run time (service unreachable, token refused, server error): one line, exit 1. */
export class CommandError extends Error {
  override readonly name = "CommandError";
}

const DEFAULT_URL = "http://127.0.0.1:4151";

/** Options every subcommand that talks to the service takes. */
export const serviceOptions = {
  url: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const serviceHelp = `  --url URL        the nsq-edge service (default: $NSQ_EDGE_URL or ${DEFAULT_URL})
  --token T        sent as "Authorization: Bearer T" (default: $NSQ_EDGE_TOKEN)`;

/** node:util parseArgs, with its errors turned into usage errors. */
export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

export interface Service {
  /** http(s)://host[:port][/prefix], no trailing slash. */
  base: string;
  /** ws(s)://host[:port][/prefix]/ws */
  wsUrl: string;
  token: string | undefined;
  /** Authorization header, if a token was given. */
  headers: Record<string, string>;
}

/** The service from --url / $NSQ_EDGE_URL and --token / $NSQ_EDGE_TOKEN; a bad URL is a usage error. */
export function service(values: { url?: string; token?: string }): Service {
  const raw = values.url ?? process.env.NSQ_EDGE_URL ?? DEFAULT_URL;
  const bad = (why = "expected http(s)://host[:port]") => new UsageError(`bad URL ${JSON.stringify(raw)}: ${why}`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad();
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw bad();
  if (u.search || u.hash) throw bad("expected http(s)://host[:port][/path], without ? or #");
  const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
  // An empty $NSQ_EDGE_TOKEN (`NSQ_EDGE_TOKEN= nsq-edge ...`) is no token; an empty --token is a mistake.
  const token = values.token ?? (process.env.NSQ_EDGE_TOKEN || undefined);
  if (token !== undefined && (token === "" || /[\s\x00-\x1f]/.test(token))) throw new UsageError("--token must be non-empty, without spaces or control characters");
  return {
    base,
    wsUrl: base.replace(/^http/, "ws") + "/ws",
    token,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  };
}

/** The reason of a failed fetch, as one line: "connect ECONNREFUSED 127.0.0.1:4151". */
export function reason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return "timed out";
  const cause = err?.cause;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return err?.message ?? String(e);
}

/** Explains an HTTP status the service answered with instead of the expected one. */
export function statusError(svc: Service, what: string, status: number, body: string): CommandError {
  if (status === 401 || status === 403)
    return new CommandError(
      svc.token
        ? `the service at ${svc.base} refused the token (HTTP ${status})`
        : `the service at ${svc.base} requires a token (HTTP ${status}): pass --token or set NSQ_EDGE_TOKEN`,
    );
  const text = body.replace(/\s+/g, " ").trim().slice(0, 200);
  return new CommandError(`${what} answered HTTP ${status}${text ? `: ${text}` : ""}`);
}

/**
 * A WebSocket that could not be opened, explained: a 401/403 on the upgrade is the token's
 * fault (the HTTP check before it may be answered by something else than the upgrade).
 */
export function socketFailure(svc: Service, e: unknown): string {
  const text = (e as Error)?.message ?? String(e);
  // ws's own wording, or the client library's when it reports the refused upgrade itself.
  const m = /(?:Unexpected server response: |WebSocket upgrade to \S+ answered )(\d+)/.exec(text);
  if (m && (m[1] === "401" || m[1] === "403")) return statusError(svc, svc.wsUrl, Number(m[1]), "").message;
  return text;
}

/** fetch with the token and a timeout; an unreachable service becomes a CommandError. */
export async function request(svc: Service, pathAndQuery: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Response> {
  const url = svc.base + pathAndQuery;
  try {
    return await fetch(url, {
      ...init,
      headers: { ...svc.headers, ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new CommandError(`cannot reach the service at ${svc.base}: ${reason(e)}`);
  }
}

/**
 * GET /ping: the service is there; then GET /identity (unless `ping` only): it takes the token,
 * or needs none. Run before anything else, so that the common failures are one clear line
 * rather than a WebSocket error or an E_AUTH_FIRST. (/ping is open even with auth on, so it
 * cannot tell a refused token; /identity answers 401 for no or an unknown token when auth is on,
 * 200 {"auth_required":false} when it is off. A service without /identity is not refused.)
 */
export async function preflight(svc: Service, ping = false): Promise<void> {
  const res = await request(svc, "/ping", {}, 5000);
  const body = await res.text().catch(() => "");
  if (res.status !== 200) throw statusError(svc, `${svc.base}/ping`, res.status, body);
  if (ping) return;
  const who = await request(svc, "/identity", {}, 5000);
  const text = await who.text().catch(() => "");
  if (who.status === 401 || who.status === 403 || who.status === 503) throw statusError(svc, `${svc.base}/identity`, who.status, text);
}

/** The `ws` WebSocket class with the token on the upgrade request (for the client library). */
export function webSocketClass(svc: Service): WebSocketConstructor {
  const headers = svc.headers;
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { headers, perMessageDeflate: false });
    }
  } as unknown as WebSocketConstructor;
}

/** Durations as nsq's flags take them: 500ms, 2s, 1m, 1.5s; a bare number is seconds. */
export function duration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: not a duration: ${JSON.stringify(text)} (e.g. 500ms, 2s, 1m)`);
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
  if (!(n > 0)) throw new UsageError(`${flag} must be positive`);
  return n;
}

/** A whole number within bounds, or a usage error. */
export function integer(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: not a whole number: ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}`);
  return n;
}

/** Writes to stdout, waiting while its buffer is full. */
export function writeOut(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(data)) resolve();
    else {
      const onDrain = () => {
        process.stdout.off("error", onError);
        resolve();
      };
      const onError = (e: Error) => {
        process.stdout.off("drain", onDrain);
        reject(e);
      };
      process.stdout.once("drain", onDrain);
      process.stdout.once("error", onError);
    }
  });
}

/** Resolves on the first SIGINT or SIGTERM. */
export function interrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(s);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
