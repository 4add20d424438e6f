// nsqd's auth server client (internal/auth/authorizations.go, QueryAnyAuthd): the servers of
// AUTH_HTTP_ADDRESS tried in a random order until one gives a valid answer. Each is asked
//   GET http://ADDR/auth?remote_ip=&tls=false&secret=&common_name=
// (ADDR may be a whole URL instead, used as it is), or POSTed the same form with
// AUTH_HTTP_REQUEST_METHOD=post, and must answer 200 with a JSON answer that ./authorizations.ts
// accepts. The errors name the server and the reason, never the URL asked (it holds the secret).
import { parseAnswer, type AuthState } from "./authorizations";

export interface AuthdOptions {
  addresses: string[];
  method: "get" | "post";
  /** nsqd's --http-client-request-timeout, ms: the whole request, connect included. */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
}

export type AuthdResult =
  | { state: AuthState }
  /** `answered`: some server gave an HTTP answer (a refusal, garbage) rather than none at all. */
  | { error: string; answered: boolean };

/** The endpoint for one address: "host:port" is http://host:port/auth, as in nsqd. */
export const endpointOf = (address: string) => (address.includes("://") ? address : `http://${address}/auth`);

/** Asks the servers in turn, from a random one, until one answers validly. */
export async function queryAnyAuthd(o: AuthdOptions, remoteIp: string, secret: string): Promise<AuthdResult> {
  const n = o.addresses.length;
  const start = Math.floor(o.random() * n);
  const errors: string[] = [];
  let answered = false;
  for (let i = 0; i < n; i++) {
    const address = o.addresses[(start + i) % n]!;
    const result = await queryAuthd(o, address, remoteIp, secret);
    if ("state" in result) return result;
    answered ||= result.answered;
    errors.push(`failed to auth against ${address} - ${result.error}`);
  }
  return { error: errors.join("; ") || "no auth server configured", answered };
}

async function queryAuthd(o: AuthdOptions, address: string, remoteIp: string, secret: string): Promise<AuthdResult> {
  const form = new URLSearchParams({ remote_ip: remoteIp, tls: "false", secret, common_name: "" });
  const endpoint = endpointOf(address);
  const init: RequestInit = {
    method: o.method === "post" ? "POST" : "GET",
    headers: { Accept: "application/vnd.nsq; version=1.0" },
    signal: AbortSignal.timeout(o.timeoutMs),
  };
  if (o.method === "post") init.body = form;
  let res: Response;
  let text: string;
  try {
    res = await o.fetch(o.method === "post" ? endpoint : `${endpoint}?${form}`, init);
    text = await res.text();
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    return { error: timedOut ? `timed out after ${o.timeoutMs} ms` : "no answer (connection failed)", answered: false };
  }
  if (res.status !== 200) return { error: `got response ${res.status} ${JSON.stringify(text.slice(0, 200))}`, answered: true };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: "the answer is not JSON", answered: true };
  }
  const state = parseAnswer(json, o.now());
  return typeof state === "string" ? { error: state, answered: true } : { state };
}
