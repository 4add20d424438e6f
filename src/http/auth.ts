// Access control for every HTTP path (src/auth/ decides who is who and what each may do). Each
// route is registered with what it needs (src/index.ts `route`):
//
//   open      /ping, /info: always
//   page      the admin UI's files: anyone, unless auth is unconfigured (they hold no data;
//             the UI asks for a token and sends it on every API call)
//   read      /stats, lookupd's reads, /identity: an identity; the answer shows only the topics
//             and channels it holds some permission on
//   publish   /pub, /mpub: `publish` on ?topic
//   admin     topic and channel create, delete, empty, pause, unpause, tombstone: `admin` on
//             ?topic (and ?channel on /channel/…)
//   session   /ws: a Bearer header is an AUTH already made; without one the V2 session asks AUTH
//
// Credentials are `Authorization: Bearer SECRET` only (never a secret in a URL). No or unknown
// credentials: 401 {"message":"UNAUTHORIZED"} with WWW-Authenticate; a known identity without
// the permission: 403 {"message":"FORBIDDEN"}; no auth server answered: 503. A topic or channel
// argument that is missing or not a valid name is left to the route's own 400.
import type { Context, MiddlewareHandler } from "hono";
import type { AuthResult } from "../auth/authenticator";
import { authenticatorOf } from "../auth/worker";
import { hasAuthorizations, isAllowed, mayAdmin, maySee, type AuthState } from "../auth/authorizations";
import { HOW_TO_CONFIGURE } from "../auth/settings";
import { config, type Env } from "../config";
import { isValidName } from "../protocol/names";
import { hostOf, remoteAddress } from "../protocol/remote-address";
import { nsqJson, query } from "./respond";

export type Access = "open" | "page" | "read" | "publish" | "admin" | "session";

type C = Context<{ Bindings: Env }>;

const NSQ = { "X-NSQ-Content-Type": "nsq; version=1.0", "Content-Type": "application/json; charset=utf-8" };

function refusal(status: 401 | 403 | 503, detail?: string): Response {
  const message = status === 401 ? "UNAUTHORIZED" : status === 403 ? "FORBIDDEN" : "AUTH_UNAVAILABLE";
  const headers: Record<string, string> = { ...NSQ };
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="nsq-edge"';
  return new Response(JSON.stringify(detail ? { message, detail } : { message }), { status, headers });
}

/** The secret of an `Authorization: Bearer` header; "" when there is none, null when malformed. */
export function bearer(req: Request): string | null {
  const h = req.headers.get("authorization");
  if (h === null) return "";
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? m[1]! : null;
}

/** The client's IP as the auth server's remote_ip: src/protocol/remote-address.ts says what is trusted. */
export const remoteIp = (req: Request) => hostOf(remoteAddress(req));

/** The identity of a request's Bearer secret (see bearer()), or the refusal to answer with. */
async function identify(secret: string | null, req: Request, env: Env): Promise<AuthState | Response> {
  if (!secret) return refusal(401);
  const ip = remoteIp(req);
  const r: AuthResult = await authenticatorOf(env).cached(secret, ip);
  if ("error" in r) {
    console.warn(`auth: refused a request from ${ip}: ${r.error}`);
    return refusal(r.status);
  }
  return hasAuthorizations(r.state) ? r.state : refusal(401);
}

// The identity a request was let in with, for the routes that filter what they show.
const viewers = new WeakMap<Request, AuthState>();

/** What a read may show: everything with auth off, else what the identity holds some permission on. */
export function visibleTo(c: C): (topic: string, channel?: string) => boolean {
  const s = viewers.get(c.req.raw);
  return s ? (topic, channel) => maySee(s, topic, channel) : () => true;
}

/** The identity of a `session` request (its upgrade's Bearer), with the secret the session re-asks with. */
const sessions = new WeakMap<Request, { state: AuthState; secret: string }>();
export const sessionAuth = (c: C) => sessions.get(c.req.raw) ?? null;

/** The middleware for a route that needs `access`. */
export function guard(access: Access): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    if (access === "open") return next();
    const { mode } = config(c.env).auth;
    if (mode === "off") return next();
    if (mode === "unconfigured") return refusal(401, HOW_TO_CONFIGURE);
    if (access === "page") return next();
    const secret = bearer(c.req.raw);
    if (access === "session" && secret === "") return next();
    const who = await identify(secret, c.req.raw, c.env);
    if (who instanceof Response) return who;
    if (access === "session") {
      sessions.set(c.req.raw, { state: who, secret: secret! });
      return next();
    }
    if (access === "read") {
      viewers.set(c.req.raw, who);
      return next();
    }
    const q = query(c);
    const topic = q.get("topic");
    if (topic === undefined || (!isValidName(topic) && access === "publish")) return next();
    if (access === "publish") return isAllowed(who, topic, "") ? next() : refusal(403);
    const channel = c.req.path.startsWith("/channel/") ? q.get("channel") : undefined;
    if (c.req.path.startsWith("/channel/") && (channel === undefined || !isValidName(channel))) return next();
    return mayAdmin(who, topic, channel) ? next() : refusal(403);
  };
}

/** GET /identity: who the credentials are, for the admin UI (nsq-edge's own; nsqd has none). */
export function identityRoute(c: C): Response {
  if (config(c.env).auth.mode === "off") return nsqJson({ auth_required: false });
  const s = viewers.get(c.req.raw)!;
  return nsqJson({ auth_required: true, identity: s.identity, identity_url: s.identityUrl, authorizations: s.authorizations });
}
