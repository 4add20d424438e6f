// What an identity may do: nsqd's auth answer (internal/auth/authorizations.go), validated as
// nsqd validates it, and the checks made against it. The same shape comes from an auth server
// and from a built-in token (./tokens.ts).
//
//   {"ttl": 3600, "identity": "billing", "identity_url": "https://…",
//    "authorizations": [{"topic": "^orders$", "channels": ["^billing$"], "permissions": ["subscribe"]}]}
//
// nsqd's rule, kept exactly: a publish is checked with the channel "", so an authorization
// allows PUB only if one of its channel patterns matches the empty string (".*" does,
// "^billing$" does not). `admin` is nsq-edge's addition (create, delete, empty, pause): a topic
// action needs an authorization with `admin` whose topic pattern matches; a channel action also
// needs one of its channel patterns to match the channel.
import { compile, PatternError } from "./re2";

export type Permission = "publish" | "subscribe" | "admin";
const PERMISSIONS = new Set<string>(["publish", "subscribe", "admin"]);

/** One authorization as the answer has it. */
export interface Authorization {
  topic: string;
  channels: string[];
  permissions: Permission[];
}

/** An identity's answer, checked and compiled; `expires` in ms since the epoch. */
export interface AuthState {
  identity: string;
  identityUrl: string;
  authorizations: Authorization[];
  expires: number;
  /** The patterns compiled, one entry per authorization. */
  readonly compiled: { topic: RegExp; channels: RegExp[]; permissions: ReadonlySet<string> }[];
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * An auth answer as nsqd's QueryAuthd accepts it, or the reason it does not: a JSON value of the
 * wrong type (Go's json.Unmarshal), an unknown permission, a pattern that does not compile, a
 * ttl that is not above 0. `ttl` is in seconds; `withoutTtl` is for tokens, which never expire.
 */
export function parseAnswer(json: unknown, now: number, withoutTtl = false): AuthState | string {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "the answer is not a JSON object";
  const a = json as Record<string, unknown>;
  const str = (key: string) => (a[key] === undefined || a[key] === null ? "" : a[key]);
  const identity = str("identity");
  const identityUrl = str("identity_url");
  if (typeof identity !== "string") return "identity is not a string";
  if (typeof identityUrl !== "string") return "identity_url is not a string";
  const list = a.authorizations ?? [];
  if (!Array.isArray(list)) return "authorizations is not an array";
  const authorizations: Authorization[] = [];
  const compiled: AuthState["compiled"] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) return "an authorization is not an object";
    // Go's json.Unmarshal: a missing or null field is its zero value, a mistyped one an error.
    const field = (key: string, zero: unknown) => (item as Record<string, unknown>)[key] ?? zero;
    const topic = field("topic", "");
    const channels = field("channels", []);
    const permissions = field("permissions", []);
    if (typeof topic !== "string") return "an authorization's topic is not a string";
    if (!isStringArray(channels)) return "an authorization's channels is not an array of strings";
    if (!isStringArray(permissions)) return "an authorization's permissions is not an array of strings";
    for (const p of permissions) if (!PERMISSIONS.has(p)) return `unknown permission ${p}`;
    let topicRe: RegExp;
    const channelRes: RegExp[] = [];
    try {
      topicRe = compile(topic);
    } catch (e) {
      return `unable to compile topic ${JSON.stringify(topic)} ${(e as PatternError).message}`;
    }
    for (const c of channels) {
      try {
        channelRes.push(compile(c));
      } catch (e) {
        return `unable to compile channel ${JSON.stringify(c)} ${(e as PatternError).message}`;
      }
    }
    authorizations.push({ topic, channels: [...channels], permissions: [...permissions] as Permission[] });
    compiled.push({ topic: topicRe, channels: channelRes, permissions: new Set(permissions) });
  }
  let expires = Infinity;
  if (!withoutTtl) {
    const ttl = a.ttl ?? 0;
    if (typeof ttl !== "number" || !Number.isInteger(ttl)) return "ttl is not a whole number";
    if (ttl <= 0) return `invalid TTL ${ttl} (must be >0)`;
    expires = now + ttl * 1000;
  }
  return { identity, identityUrl, authorizations, expires, compiled };
}

/** nsqd's HasAuthorizations: an answer with none is "AUTH no authorizations found". */
export const hasAuthorizations = (s: AuthState | null): s is AuthState => s !== null && s.authorizations.length > 0;

export const isExpired = (s: AuthState, now: number) => s.expires < now;

/** nsqd's State.IsAllowed: subscribe when a channel is given, publish when it is "". */
export function isAllowed(s: AuthState, topic: string, channel: string): boolean {
  const needed = channel !== "" ? "subscribe" : "publish";
  return s.compiled.some(
    (a) => a.permissions.has(needed) && a.topic.test(topic) && a.channels.some((c) => c.test(channel)),
  );
}

/** The admin permission on a topic, or on one of its channels. */
export function mayAdmin(s: AuthState, topic: string, channel?: string): boolean {
  return s.compiled.some(
    (a) => a.permissions.has("admin") && a.topic.test(topic) && (channel === undefined || a.channels.some((c) => c.test(channel))),
  );
}

/** Whether the identity holds some permission on a topic (or a channel of it): what reads show it. */
export function maySee(s: AuthState, topic: string, channel?: string): boolean {
  return s.compiled.some(
    (a) => a.permissions.size > 0 && a.topic.test(topic) && (channel === undefined || a.channels.some((c) => c.test(channel))),
  );
}
