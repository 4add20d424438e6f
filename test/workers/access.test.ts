// Access control on every path, with built-in tokens: each route walked with no credentials, an
// unknown secret, an identity for another topic, a subscribe-only and a publish-only identity,
// and the right one. The table must name every route the Worker registers: a new route without
// an entry fails the first test.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app, { ROUTES } from "../../src/index";
import { sha256, toHex } from "../../src/auth/tokens";
import type { Stats } from "../../src/stats";
import { TestClient, cmd } from "../helpers/v2client";

const SECRETS = { other: "sec-other", sub: "sec-sub", pub: "sec-pub", right: "sec-right" } as const;
type Who = "none" | "unknown" | keyof typeof SECRETS;
const WHO: Who[] = ["none", "unknown", "other", "sub", "pub", "right"];

const IDENTITIES: Record<keyof typeof SECRETS, unknown> = {
  other: { identity: "other", authorizations: [{ topic: "^other$", channels: [".*"], permissions: ["publish", "subscribe", "admin"] }] },
  sub: { identity: "sub", authorizations: [{ topic: "^orders$", channels: ["^billing$"], permissions: ["subscribe"] }] },
  pub: { identity: "pub", identity_url: "https://id.example/pub", authorizations: [{ topic: "^orders$", channels: [".*"], permissions: ["publish"] }] },
  right: { identity: "right", authorizations: [{ topic: "^orders$", channels: [".*"], permissions: ["publish", "subscribe", "admin"] }] },
};

async function tokensJson(): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const [k, secret] of Object.entries(SECRETS)) out[toHex(await sha256(secret))] = IDENTITIES[k as keyof typeof SECRETS];
  return JSON.stringify(out);
}

// One env object for the file: the Worker keeps its config and authenticator per env.
const authEnv = { ...env, AUTH: "", AUTH_TOKENS: await tokensJson() };
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

function call(who: Who, method: string, path: string, body?: string, useEnv: object = authEnv): Promise<Response> {
  const headers: Record<string, string> = {};
  if (who === "unknown") headers.Authorization = "Bearer not-a-known-secret";
  else if (who !== "none") headers.Authorization = `Bearer ${SECRETS[who]}`;
  return Promise.resolve(app.fetch(new Request(`http://nsq.test${path}`, { method, headers, body }), useEnv, ctx));
}

const setUp = async () => {
  await call("right", "POST", "/topic/create?topic=orders");
  await call("right", "POST", "/channel/create?topic=orders&channel=billing");
  await call("right", "POST", "/channel/create?topic=orders&channel=shipping");
  await call("other", "POST", "/topic/create?topic=other");
};

const READ = [401, 401, 200, 200, 200, 200];
const PUBLISH = [401, 401, 403, 403, 200, 200];
const ADMIN = [401, 401, 403, 403, 403, 200];
const OPEN = [200, 200, 200, 200, 200, 200];

/** Each route: the request made, and the status each identity gets (in WHO's order). */
const TABLE: Record<string, { path: string; body?: string; expect: number[] }> = {
  "GET /ping": { path: "/ping", expect: OPEN },
  "GET /info": { path: "/info", expect: OPEN },
  "POST /pub": { path: "/pub?topic=orders", body: "x", expect: PUBLISH },
  "POST /mpub": { path: "/mpub?topic=orders", body: "a\nb", expect: PUBLISH },
  "GET /stats": { path: "/stats?format=json", expect: READ },
  "POST /topic/create": { path: "/topic/create?topic=orders", expect: ADMIN },
  "POST /topic/shards": { path: "/topic/shards?topic=orders&n=2", expect: ADMIN },
  "POST /topic/delete": { path: "/topic/delete?topic=orders", expect: ADMIN },
  "POST /topic/empty": { path: "/topic/empty?topic=orders", expect: ADMIN },
  "POST /topic/pause": { path: "/topic/pause?topic=orders", expect: ADMIN },
  "POST /topic/unpause": { path: "/topic/unpause?topic=orders", expect: ADMIN },
  "POST /channel/create": { path: "/channel/create?topic=orders&channel=billing", expect: ADMIN },
  "POST /channel/delete": { path: "/channel/delete?topic=orders&channel=billing", expect: ADMIN },
  "POST /channel/empty": { path: "/channel/empty?topic=orders&channel=billing", expect: ADMIN },
  "POST /channel/pause": { path: "/channel/pause?topic=orders&channel=billing", expect: ADMIN },
  "POST /channel/unpause": { path: "/channel/unpause?topic=orders&channel=billing", expect: ADMIN },
  "POST /topic/tombstone": { path: "/topic/tombstone?topic=orders&node=n:4151", expect: ADMIN },
  // Settings, peek and redrive (nsq-edge's): an admin's, as the topic's other administration.
  "GET /topic/config": { path: "/topic/config?topic=orders", expect: ADMIN },
  "POST /topic/config": { path: "/topic/config?topic=orders", body: "{}", expect: ADMIN },
  "GET /channel/config": { path: "/channel/config?topic=orders&channel=billing", expect: ADMIN },
  "POST /channel/config": { path: "/channel/config?topic=orders&channel=billing", body: "{}", expect: ADMIN },
  "GET /channel/peek": { path: "/channel/peek?topic=orders&channel=billing", expect: ADMIN },
  "POST /channel/redrive": { path: "/channel/redrive?topic=orders&channel=billing&rate=0", expect: ADMIN },
  "POST /channel/seek": { path: "/channel/seek?topic=orders&channel=billing&ts=now", expect: ADMIN },
  // Metrics as /stats (what an identity may see); nsqd's /config/:opt (PUT sets nothing here: 400).
  "GET /metrics": { path: "/metrics", expect: READ },
  "GET /config": { path: "/config", expect: READ },
  "GET /config/:opt": { path: "/config/max_msg_size", expect: READ },
  "PUT /config/:opt": { path: "/config/log_level", body: "debug", expect: [401, 401, 400, 400, 400, 400] },
  // A topic the identity may not see is a topic that does not exist.
  "GET /lookup": { path: "/lookup?topic=orders", expect: [401, 401, 404, 200, 200, 200] },
  "GET /topics": { path: "/topics", expect: READ },
  "GET /channels": { path: "/channels?topic=orders", expect: READ },
  "GET /nodes": { path: "/nodes", expect: READ },
  "GET /identity": { path: "/identity", expect: READ },
  // The V2 upgrade: a Bearer is checked at once; without one the session asks for AUTH (426: no Upgrade header here).
  "GET /ws": { path: "/ws", expect: [426, 401, 426, 426, 426, 426] },
  // The admin UI's files hold no data: anyone may load them; the UI then asks for a token.
  "GET /admin": { path: "/admin", expect: [301, 301, 301, 301, 301, 301] },
  "GET /admin/": { path: "/admin/", expect: OPEN },
  "GET /admin/topics/*": { path: "/admin/topics/orders", expect: OPEN },
  "GET /admin/nodes": { path: "/admin/nodes", expect: OPEN },
  "GET /admin/nodes/*": { path: "/admin/nodes/127.0.0.1:4151", expect: OPEN },
  "GET /admin/counter": { path: "/admin/counter", expect: OPEN },
  "GET /admin/lookup": { path: "/admin/lookup", expect: OPEN },
  "GET /admin/*": { path: "/admin/app.js", expect: OPEN },
};

describe("access control on every HTTP route (built-in tokens)", () => {
  it("the table names every route the Worker registers", () => {
    expect(Object.keys(TABLE).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  for (const [route, row] of Object.entries(TABLE)) {
    it(`${route}: ${row.expect.join(" ")} for ${WHO.join(", ")}`, async () => {
      const method = route.split(" ")[0]!;
      const got: number[] = [];
      for (const who of WHO) {
        await setUp();
        const res = await call(who, method, row.path, row.body);
        got.push(res.status);
        if (res.status === 401) {
          expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
          expect(await res.json()).toEqual({ message: "UNAUTHORIZED" });
        } else if (res.status === 403) {
          expect(await res.json()).toEqual({ message: "FORBIDDEN" });
        } else await res.arrayBuffer();
      }
      expect(got).toEqual(row.expect);
    });
  }

  it("a refused publish stores nothing; an allowed one is stored", async () => {
    await setUp();
    await call("right", "POST", "/channel/empty?topic=orders&channel=billing");
    for (const who of ["none", "unknown", "other", "sub"] as Who[]) await call(who, "POST", "/pub?topic=orders", "nope");
    await call("pub", "POST", "/pub?topic=orders", "yes");
    const stats = (await (await call("right", "GET", "/stats?format=json&topic=orders")).json()) as Stats;
    expect(stats.topics![0]!.channels.find((c) => c.channel_name === "billing")!.depth).toBe(1);
  });

  it("reads show only the topics and channels the identity holds a permission on", async () => {
    await setUp();
    const topics = async (who: Who) => ((await (await call(who, "GET", "/topics")).json()) as { topics: string[] }).topics.sort();
    expect(await topics("other")).toEqual(["other"]);
    expect(await topics("sub")).toEqual(["orders"]);
    const stats = async (who: Who) => {
      const doc = (await (await call(who, "GET", "/stats?format=json")).json()) as Stats;
      return (doc.topics ?? []).map((t) => `${t.topic_name}:${t.channels.map((c) => c.channel_name).sort().join(",")}`);
    };
    expect(await stats("sub")).toEqual(["orders:billing"]);
    expect(await stats("right")).toEqual(["orders:billing,shipping"]);
    expect(await stats("other")).toEqual(["other:"]);
    const channels = async (who: Who) => ((await (await call(who, "GET", "/channels?topic=orders")).json()) as { channels: string[] }).channels.sort();
    expect(await channels("sub")).toEqual(["billing"]);
    expect(await channels("other")).toEqual([]);
    const nodes = (await (await call("other", "GET", "/nodes")).json()) as { producers: { topics: string[]; tombstones: boolean[] }[] };
    expect(nodes.producers[0]!.topics).toEqual(["other"]);
    expect(nodes.producers[0]!.tombstones).toEqual([false]);
    // A topic filter on a topic it may not see answers as for an unknown topic.
    const hidden = (await (await call("other", "GET", "/stats?format=json&topic=orders")).json()) as Stats;
    expect(hidden.topics).toBeNull();
    // /metrics shows what /stats does.
    const metrics = async (who: Who) => {
      const text = await (await call(who, "GET", "/metrics")).text();
      return [...new Set([...text.matchAll(/^nsq_channel_depth\{topic="([^"]+)",channel="([^"]+)"\}/gm)].map((m) => `${m[1]}:${m[2]}`))].sort();
    };
    expect(await metrics("sub")).toEqual(["orders:billing"]);
    expect(await metrics("right")).toEqual(["orders:billing", "orders:shipping"]);
    expect(await metrics("other")).toEqual([]);
    expect(await (await call("other", "GET", "/metrics")).text()).toMatch(/^nsq_topic_depth\{topic="other"\} 0$/m);
  });

  it("/identity tells the admin UI who the token is", async () => {
    const res = await call("pub", "GET", "/identity");
    expect(await res.json()).toEqual({
      auth_required: true,
      identity: "pub",
      identity_url: "https://id.example/pub",
      authorizations: [{ topic: "^orders$", channels: [".*"], permissions: ["publish"] }],
    });
    expect(await (await call("none", "GET", "/identity", undefined, { ...env, AUTH: "off" })).json()).toEqual({ auth_required: false });
  });

  it("only a Bearer header counts: other schemes and malformed headers are no credentials", async () => {
    for (const h of ["Basic c2VjLXJpZ2h0Og==", "Bearer", "Bearer a b", `sec-right`]) {
      const res = await Promise.resolve(app.fetch(new Request("http://nsq.test/stats", { headers: { Authorization: h } }), authEnv, ctx));
      expect(res.status).toBe(401);
    }
    const lower = await Promise.resolve(app.fetch(new Request("http://nsq.test/stats", { headers: { Authorization: "bearer sec-right" } }), authEnv, ctx));
    expect(lower.status).toBe(200);
  });
});

describe("a deploy without auth configured", () => {
  const bare = { ...env, AUTH: "" };

  it("answers 401 on every path but /ping and /info, saying how to configure auth", async () => {
    for (const r of ROUTES) {
      const path = TABLE[`${r.method} ${r.path}`]!.path;
      const res = await call("right", r.method, path, r.method === "POST" ? "x" : undefined, bare);
      if (r.path === "/ping" || r.path === "/info") {
        expect(res.status, path).toBe(200);
        await res.arrayBuffer();
        continue;
      }
      expect(res.status, path).toBe(401);
      const body = (await res.json()) as { message: string; detail: string };
      expect(body.message).toBe("UNAUTHORIZED");
      expect(body.detail).toMatch(/AUTH_TOKENS.*AUTH_HTTP_ADDRESS.*AUTH=off/);
    }
  });
});

// ---- V2 over WebSocket ------------------------------------------------------------------------

async function open(who: Who = "none"): Promise<TestClient> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (who === "unknown") headers.Authorization = "Bearer nope";
  else if (who !== "none") headers.Authorization = `Bearer ${SECRETS[who]}`;
  const res = await Promise.resolve(app.fetch(new Request("http://nsq.test/ws", { headers }), authEnv, ctx));
  const ws = res.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${res.status}`);
  ws.binaryType = "arraybuffer";
  ws.accept();
  const c = new TestClient(ws as never);
  c.send(cmd.MAGIC_V2);
  return c;
}

const identifyAnswer = async (c: TestClient) => {
  c.send(cmd.identify({ feature_negotiation: true }));
  return JSON.parse(await c.response()) as { auth_required: boolean };
};

describe("V2 with auth on, as nsqd", () => {
  it("IDENTIFY says auth_required; SUB and PUB before AUTH: E_AUTH_FIRST, and a close", async () => {
    const c = await open();
    expect((await identifyAnswer(c)).auth_required).toBe(true);
    c.send(cmd.pub("orders", "x"));
    expect(await c.error()).toBe("E_AUTH_FIRST AUTH required before PUB");
    await c.closedByServer();
    const s = await open();
    s.send(cmd.sub("orders", "billing"));
    expect(await s.error()).toBe("E_AUTH_FIRST AUTH required before SUB");
    await s.closedByServer();
  });

  it("AUTH answers nsqd's JSON; then the permissions decide", async () => {
    await setUp();
    const c = await open();
    c.send(cmd.auth(SECRETS.pub));
    expect(JSON.parse(await c.response())).toEqual({ identity: "pub", identity_url: "https://id.example/pub", permission_count: 1 });
    c.send(cmd.pub("orders", "x"));
    expect(await c.response()).toBe("OK");
    c.send(cmd.pub("other", "x"));
    expect(await c.error()).toBe('E_UNAUTHORIZED AUTH failed for PUB on "other" ""');
    await c.closedByServer();
  });

  it("the commands behind AUTH wait for its answer, in order", async () => {
    await setUp();
    const c = await open();
    c.send(cmd.auth(SECRETS.right), cmd.pub("orders", "a"), cmd.sub("orders", "billing"));
    expect(JSON.parse(await c.response()).identity).toBe("right");
    expect(await c.response()).toBe("OK");
    expect(await c.response()).toBe("OK");
  });

  it("an unknown secret: E_AUTH_FAILED; AUTH twice: E_INVALID AUTH already set", async () => {
    const bad = await open();
    bad.send(cmd.auth("nope"), cmd.pub("orders", "x"));
    expect(await bad.error()).toBe("E_AUTH_FAILED AUTH failed");
    await bad.closedByServer();
    const twice = await open();
    twice.send(cmd.auth(SECRETS.sub), cmd.auth(SECRETS.sub));
    await twice.response();
    expect(await twice.error()).toBe("E_INVALID AUTH already set");
    await twice.closedByServer();
  });

  it("an identity without authorizations: E_UNAUTHORIZED AUTH no authorizations found", async () => {
    const none = { ...env, AUTH: "", AUTH_TOKENS: JSON.stringify({ [toHex(await sha256("empty"))]: { identity: "nobody", authorizations: [] } }) };
    const res = await Promise.resolve(app.fetch(new Request("http://nsq.test/ws", { headers: { Upgrade: "websocket" } }), none, ctx));
    const ws = res.webSocket!;
    ws.binaryType = "arraybuffer";
    ws.accept();
    const c = new TestClient(ws as never);
    c.send(cmd.MAGIC_V2, cmd.auth("empty"));
    expect(await c.error()).toBe("E_UNAUTHORIZED AUTH no authorizations found");
    await c.closedByServer();
  });

  it("a subscribe-only identity: SUB to its channel, not to another, and no PUB", async () => {
    await setUp();
    const c = await open();
    c.send(cmd.auth(SECRETS.sub), cmd.sub("orders", "billing"));
    await c.response();
    expect(await c.response()).toBe("OK");
    const other = await open();
    other.send(cmd.auth(SECRETS.sub), cmd.sub("orders", "shipping"));
    await other.response();
    expect(await other.error()).toBe('E_UNAUTHORIZED AUTH failed for SUB on "orders" "shipping"');
    const pub = await open();
    pub.send(cmd.auth(SECRETS.sub), cmd.mpub("orders", ["a"]));
    await pub.response();
    expect(await pub.error()).toBe('E_UNAUTHORIZED AUTH failed for MPUB on "orders" ""');
  });

  it("a Bearer on the upgrade counts as AUTH: no auth_required, no AUTH needed, one AUTH may replace it; an unknown one is refused", async () => {
    await setUp();
    const c = await open("right");
    expect((await identifyAnswer(c)).auth_required).toBe(false);
    c.send(cmd.pub("orders", "x"));
    expect(await c.response()).toBe("OK");
    // The client's own AUTH takes the header's place (a bridge with --token, a client with its own
    // secret); a second one is refused, as in nsqd.
    c.send(cmd.auth(SECRETS.sub));
    expect(JSON.parse(await c.response()).identity).toBe("sub");
    c.send(cmd.pub("orders", "y"));
    expect(await c.error()).toBe('E_UNAUTHORIZED AUTH failed for PUB on "orders" ""');
    const twice = await open("right");
    twice.send(cmd.auth(SECRETS.pub), cmd.auth(SECRETS.pub));
    await twice.response();
    expect(await twice.error()).toBe("E_INVALID AUTH already set");
    const res = await Promise.resolve(
      app.fetch(new Request("http://nsq.test/ws", { headers: { Upgrade: "websocket", Authorization: "Bearer nope" } }), authEnv, ctx),
    );
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
  });

  it("/stats shows a consumer's authed, auth_identity and auth_identity_url", async () => {
    await setUp();
    const c = await open();
    c.send(cmd.auth(SECRETS.right), cmd.sub("orders", "shipping"));
    await c.response();
    expect(await c.response()).toBe("OK");
    const doc = (await (await call("right", "GET", "/stats?format=json&topic=orders&channel=shipping")).json()) as Stats;
    const client = doc.topics![0]!.channels[0]!.clients![0]!;
    expect(client.authed).toBe(true);
    expect(client.auth_identity).toBe("right");
    expect(client.auth_identity_url).toBeUndefined(); // empty: left out, as nsqd's omitempty
  });
});
