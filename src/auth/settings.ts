// Whether auth is on, and where identities come from, from the Worker's vars and secrets:
//
//   AUTH_TOKENS               built-in tokens (a secret: ./tokens.ts)
//   AUTH_HTTP_ADDRESS         nsqd's --auth-http-address: host:port or URLs, comma separated
//   AUTH_HTTP_REQUEST_METHOD  nsqd's --auth-http-request-method: get (default) or post
//   HTTP_CLIENT_REQUEST_TIMEOUT  nsqd's --http-client-request-timeout (src/config.ts, 5s)
//   AUTH                      "off" opens the service, as nsqd without an auth server is
//
// With neither tokens nor an auth server, and AUTH not "off", auth is "unconfigured": every path
// but /ping and /info answers 401 saying how to configure it. That is what a deploy of the
// repository as it stands gives: never an open queue by default.
import { parseTokens, type Tokens } from "./tokens";

export type AuthMode = "off" | "on" | "unconfigured";

export interface AuthSettings {
  mode: AuthMode;
  tokens: Tokens | null;
  addresses: string[];
  method: "get" | "post";
}

export const AUTH_VAR_NAMES = ["AUTH", "AUTH_TOKENS", "AUTH_HTTP_ADDRESS", "AUTH_HTTP_REQUEST_METHOD"] as const;

/** What an unconfigured service answers with, and `npm start` prints. */
export const HOW_TO_CONFIGURE =
  "auth is not configured: set the AUTH_TOKENS secret (make one with `nsq-edge token create`) or AUTH_HTTP_ADDRESS (an nsqd auth server), or AUTH=off to run without auth";

const text = (v: unknown) => (v === undefined || v === null ? "" : String(v).trim());

/** One address of AUTH_HTTP_ADDRESS: host:port, or an http(s) URL. */
function addressProblem(a: string): string | null {
  if (a.includes("://")) {
    try {
      const u = new URL(a);
      return u.protocol === "http:" || u.protocol === "https:" ? null : `AUTH_HTTP_ADDRESS ${JSON.stringify(a)}: only http and https URLs`;
    } catch {
      return `AUTH_HTTP_ADDRESS ${JSON.stringify(a)} is not a URL`;
    }
  }
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(a) ? null : `AUTH_HTTP_ADDRESS ${JSON.stringify(a)} is not host:port or a URL`;
}

/** The auth settings, and the reasons the vars cannot be used (one line each; never a secret's value). */
export function parseAuthSettings(env: Partial<Record<string, unknown>>): { settings: AuthSettings; problems: string[] } {
  const problems: string[] = [];
  const auth = text(env.AUTH).toLowerCase();
  if (auth !== "" && auth !== "on" && auth !== "off") problems.push(`AUTH=${JSON.stringify(text(env.AUTH))} must be "on" or "off"`);
  const addresses = text(env.AUTH_HTTP_ADDRESS).split(",").map((a) => a.trim()).filter((a) => a !== "");
  for (const a of addresses) {
    const p = addressProblem(a);
    if (p) problems.push(p);
  }
  const method = text(env.AUTH_HTTP_REQUEST_METHOD).toLowerCase() || "get";
  if (method !== "get" && method !== "post") problems.push(`AUTH_HTTP_REQUEST_METHOD=${JSON.stringify(method)} must be get or post`);
  let tokens: Tokens | null = null;
  const tokenText = text(env.AUTH_TOKENS);
  if (tokenText !== "") {
    const parsed = parseTokens(tokenText);
    if (typeof parsed === "string") problems.push(parsed);
    else tokens = parsed;
  }
  const configured = tokenText !== "" || addresses.length > 0;
  if (auth === "off" && configured) problems.push("AUTH=off together with AUTH_TOKENS or AUTH_HTTP_ADDRESS: remove one (auth cannot be off and configured)");
  const mode: AuthMode = configured ? "on" : auth === "off" ? "off" : "unconfigured";
  return { settings: { mode, tokens, addresses, method: method as "get" | "post" }, problems };
}
