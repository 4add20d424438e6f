// The Worker: routes nsqd's HTTP API, nsqlookupd's read API and the V2 protocol over
// WebSocket (/ws) to the topic, channel and registry Durable Objects.
import { Hono } from "hono";
import { cors } from "hono/cors";
import { config, type Env } from "./config";
import { HttpError, nsqError } from "./http/respond";
import { nsqdRoutes, type RouteFn } from "./http/nsqd";
import { lookupdRoutes } from "./http/lookupd";
import { settingsRoutes } from "./http/settings";
import { queueToolRoutes } from "./http/queue-tools";
import { metricsRoutes } from "./http/metrics";
import { configRoutes } from "./http/config-opts";
import { adminRoutes } from "./http/admin";
import { V2Session } from "./v2/session";
import { channelSessionRequest } from "./v2/channel-session";
import { channelStub } from "./stubs";
import { isValidName } from "./protocol/names";
import { isAllowed } from "./auth/authorizations";
import { remoteAddress } from "./protocol/remote-address";
import { guard, identityRoute, sessionAuth, type Access } from "./http/auth";

export { TopicObject } from "../durable-objects/topic";
export { ChannelObject } from "../durable-objects/channel";
export { RegistryObject } from "../durable-objects/registry";

const app = new Hono<{ Bindings: Env }>();

// Pages on other origins may read the API (a WebSocket needs no CORS). Only requests that carry
// an Origin take part, so a plain OPTIONS still gets nsqd's answer (200 with Allow).
const corsAll = cors({ origin: "*", allowMethods: ["GET", "POST"], maxAge: 600 });
app.use("*", (c, next) => (c.req.header("origin") ? corsAll(c, next) : next()));

/** Methods registered per path: a known path with another method is 405, as in nsqd. */
const allowed = new Map<string, string[]>();

/** Every route and what it needs (src/http/auth.ts): the access tests walk this list. */
export const ROUTES: { method: string; path: string; access: Access }[] = [];

const route: RouteFn = (method, path, access, handler) => {
  // (The admin UI's pages are not nsqd's: another method there is its 404, not a 405.)
  if (access !== "page") allowed.set(path, [...(allowed.get(path) ?? []), method]);
  ROUTES.push({ method, path, access });
  app.on(method, path, guard(access), handler);
};

const methodNotAllowed = (methods: string[]) =>
  new Response(JSON.stringify({ message: "METHOD_NOT_ALLOWED" }), {
    status: 405,
    headers: {
      Allow: [...methods, "OPTIONS"].sort().join(", "),
      "Content-Type": "application/json; charset=utf-8",
      "X-NSQ-Content-Type": "nsq; version=1.0",
    },
  });

// Hono routes HEAD to the GET handler; nsqd's router has no HEAD routes.
app.use("*", (c, next) => {
  if (c.req.method !== "HEAD") return next();
  const methods = allowed.get(c.req.path);
  return Promise.resolve(methods ? methodNotAllowed(methods) : nsqError(404, "NOT_FOUND"));
});

/** GET /ws: the V2 byte stream of nsqd's TCP port, carried by a WebSocket. */
route("GET", "/ws", "session", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("expected a WebSocket upgrade", { status: 426, headers: { Upgrade: "websocket" } });
  }
  // The client's address as nsqd shows its TCP peer; see src/protocol/remote-address.ts for what is trusted.
  const address = remoteAddress(c.req.raw);
  // A consumer that names its channel is served by the channel's object (src/v2/channel-session.ts)
  // once it may subscribe there: with auth on, only an upgrade whose Bearer allows it, so that no
  // one can keep an object awake without permission (others are served here, and AUTH as usual).
  const topic = c.req.query("topic");
  const channel = c.req.query("channel");
  if (topic !== undefined || channel !== undefined) {
    if (topic === undefined || !isValidName(topic)) return nsqError(400, "INVALID_TOPIC");
    if (channel === undefined || !isValidName(channel)) return nsqError(400, "INVALID_CHANNEL");
    const upgradeAuth = sessionAuth(c);
    if (config(c.env).auth.mode === "off" || (upgradeAuth && isAllowed(upgradeAuth.state, topic, channel))) {
      const request = channelSessionRequest({ topic, channel, remoteAddress: address, upgradeAuth });
      try {
        return await channelStub(c.env, topic, channel).fetch(request);
      } catch (e) {
        // The object could not take it (overloaded, restarting): the client is served here instead.
        console.error(`V2: the channel's object did not take a session; served by the Worker: ${e}`);
      }
    }
  }
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  new V2Session(server, c.env, config(c.env), address, sessionAuth(c));
  return new Response(null, { status: 101, webSocket: client });
});

nsqdRoutes(route);
settingsRoutes(route);
queueToolRoutes(route);
metricsRoutes(route);
configRoutes(route);
lookupdRoutes(route);
route("GET", "/identity", "read", identityRoute);
// The admin UI (/admin): behind the same middleware as the API (see src/http/admin.ts).
adminRoutes(route);

for (const [path, methods] of allowed) {
  const allow = [...methods, "OPTIONS"].sort().join(", ");
  app.all(path, (c) => (c.req.method === "OPTIONS" ? new Response(null, { headers: { Allow: allow } }) : methodNotAllowed(methods)));
}

app.notFound(() => nsqError(404, "NOT_FOUND"));

app.onError((err) => {
  if (err instanceof HttpError) return nsqError(err.status, err.message);
  console.error(err);
  return nsqError(500, "INTERNAL_ERROR");
});

export default app;
