// Discovery through nsqlookupd's API, which the nsq-edge service answers itself:
//   GET /lookup?topic=T  →  { channels: [...], producers: [{ broadcast_address, http_port, ... }] }
//   404 {"message":"TOPIC_NOT_FOUND"} while the topic does not exist.
// Each producer is reached over WebSocket at ws(s)://broadcast_address:http_port/ws, with the
// scheme of the lookup URL (https → wss) and its path prefix.
// With auth on, /lookup needs `Authorization: Bearer SECRET`: a 401 or 403 rejects with an AuthError.
import { ConnectionError, refusedError } from "./errors.js";
import { authHeaders, errorText, type FetchLike } from "./socket.js";

/** A producer as /lookup lists it (nsqlookupd's PeerInfo, the fields the client reads). */
export interface LookupProducer {
  broadcast_address: string;
  http_port: number;
  tcp_port?: number;
  hostname?: string;
  remote_address?: string;
  version?: string;
}

export interface LookupResult {
  channels: string[];
  producers: LookupProducer[];
}

/** The lookup URL for a topic under a service URL (http(s):// or ws(s)://, any path prefix). */
export function lookupUrl(serviceUrl: string, topic: string): string {
  const b = serviceBase(serviceUrl);
  return `${b.secure ? "https" : "http"}://${b.host}${b.path}/lookup?topic=${encodeURIComponent(topic)}`;
}

/**
 * A consumer's V2 endpoint: the channel it will SUB named in the URL, so that the service runs
 * its session in the channel's own object (one event per delivery there instead of three).
 */
export function channelSocketUrl(socketUrl: string, topic: string, channel: string): string {
  const u = new URL(socketUrl);
  u.searchParams.set("topic", topic);
  u.searchParams.set("channel", channel);
  return u.href;
}

/** The V2 endpoint of a service URL: ws(s)://host/prefix/ws (a ws(s):// URL is taken as it is). */
export function serviceSocketUrl(serviceUrl: string): string {
  if (/^wss?:/i.test(serviceUrl)) return serviceUrl;
  const b = serviceBase(serviceUrl);
  return `${b.secure ? "wss" : "ws"}://${b.host}${b.path}/ws`;
}

/** The WebSocket URL of a producer listed by /lookup, reached like the lookup URL was. */
export function producerSocketUrl(serviceUrl: string, p: LookupProducer): string {
  const base = serviceBase(serviceUrl);
  const secure = base.secure;
  const host = p.broadcast_address.includes(":") && !p.broadcast_address.startsWith("[") ? `[${p.broadcast_address}]` : p.broadcast_address;
  const defaultPort = secure ? 443 : 80;
  const port = p.http_port && p.http_port !== defaultPort ? `:${p.http_port}` : "";
  return `${secure ? "wss" : "ws"}://${host}${port}${base.path}/ws`;
}

/**
 * Asks the service which producers serve `topic`. Resolves to null when the topic does not
 * exist yet (404 TOPIC_NOT_FOUND, also for a topic the credentials may not see); rejects when
 * the service cannot be reached, refuses the credentials (AuthError) or answers anything else.
 */
export async function lookup(serviceUrl: string, topic: string, fetchFn: FetchLike, authSecret?: string): Promise<LookupResult | null> {
  const url = lookupUrl(serviceUrl, topic);
  const auth = authHeaders(authSecret);
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await fetchFn(url, { headers: { Accept: "application/vnd.nsq; version=1.0", ...auth } });
  } catch (e) {
    throw new ConnectionError(`lookup ${url} failed: ${errorText(e)}`, e);
  }
  if (res.status === 401 || res.status === 403)
    throw refusedError(`lookup ${url}`, res.status, await res.text().catch(() => ""), !!authSecret);
  if (res.status === 404) {
    const text = await res.text().catch(() => "");
    if (text.includes("TOPIC_NOT_FOUND")) return null;
    throw new ConnectionError(`lookup ${url} answered 404: ${text}`);
  }
  if (res.status !== 200) throw new ConnectionError(`lookup ${url} answered ${res.status}: ${await res.text().catch(() => "")}`);
  const body = (await res.json()) as Partial<LookupResult> & { data?: Partial<LookupResult> };
  // nsqlookupd before 1.0 wrapped its answer in {status_code, status_txt, data}.
  const data = body.data ?? body;
  return { channels: data.channels ?? [], producers: data.producers ?? [] };
}

/**
 * The WebSocket URLs of the producers of `topic` listed by any of `lookupUrls` (their union),
 * or null if none of them answered; each failure goes to `onError`.
 */
export async function lookupAll(
  lookupUrls: string[],
  topic: string,
  fetchFn: FetchLike,
  onError: (e: unknown) => void,
  authSecret?: string,
): Promise<Set<string> | null> {
  const found = new Set<string>();
  let answered = false;
  await Promise.all(
    lookupUrls.map(async (base) => {
      try {
        const res = await lookup(base, topic, fetchFn, authSecret);
        answered = true;
        for (const p of res?.producers ?? []) found.add(producerSocketUrl(base, p));
      } catch (e) {
        onError(e);
      }
    }),
  );
  return answered ? found : null;
}

/** The default fetch: the runtime's, bound (Workers' fetch must not be called as a method). */
export function defaultFetch(): FetchLike {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (!f) throw new ConnectionError("no fetch in this runtime: pass the `fetch` option");
  return (url, init) => f(url, init);
}

/**
 * A service URL as http(s)://host[:port]/prefix with no trailing slash: ws(s):// becomes
 * http(s):// and a final /ws (the V2 endpoint) is dropped.
 */
function serviceBase(serviceUrl: string): { secure: boolean; host: string; path: string } {
  const isWs = /^wss?:/i.test(serviceUrl);
  const u = new URL(isWs ? serviceUrl.replace(/^ws(s?):/i, "http$1:") : serviceUrl);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`not an http(s) or ws(s) URL: ${serviceUrl}`);
  let path = u.pathname.replace(/\/+$/, "");
  if (isWs) path = path.replace(/\/ws$/, "");
  return { secure: u.protocol === "https:", host: u.host, path };
}
