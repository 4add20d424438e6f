// The service against a real nsqd-style auth server (a small HTTP server in this process): what
// it is asked, what each of its answers does to V2 connections and HTTP requests, its faults
// (down, slow, garbage, 500), and ttl expiry mid-stream.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cmd, text } from "../helpers/v2client";
import { eventually } from "../helpers/wait";
import { freePort, Service } from "./service";

type Answer = { status: number; body: string } | "hang";
const grant = (ttl: number, permissions: string[], topic = "^orders$") =>
  ({ status: 200, body: JSON.stringify({ ttl, identity: "billing", identity_url: "https://id.example/billing", authorizations: [{ topic, channels: [".*"], permissions }] }) }) as Answer;

let answer: Answer = grant(3600, ["publish", "subscribe"]);
const asked: URLSearchParams[] = [];
let authd: Server;
let svc: Service;
let down: number;

beforeAll(async () => {
  authd = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    if (url.pathname !== "/auth") return res.writeHead(404).end();
    asked.push(url.searchParams);
    if (answer === "hang") return; // never answers
    res.writeHead(answer.status, { "Content-Type": "application/json" }).end(answer.body);
  });
  await new Promise<void>((r) => authd.listen(0, "127.0.0.1", r));
  down = await freePort();
  const addr = `127.0.0.1:${(authd.address() as AddressInfo).port}`;
  svc = await Service.create({ AUTH_HTTP_ADDRESS: addr, HTTP_CLIENT_REQUEST_TIMEOUT: "700ms" });
}, 90_000);
afterAll(async () => {
  await svc?.stop();
  authd?.closeAllConnections();
  authd?.close();
});
beforeEach(() => {
  answer = grant(3600, ["publish", "subscribe"]);
  asked.length = 0;
});

const bearer = (secret: string) => ({ headers: { Authorization: `Bearer ${secret}` } });
const pub = (secret: string, topic = "orders", body = "x") => svc.fetch(`/pub?topic=${topic}`, { method: "POST", body, ...bearer(secret) });

describe("with an auth server", () => {
  it("says so in its first lines", () => {
    expect(svc.output).toMatch(/auth: on \(AUTH_HTTP_ADDRESS\)/);
  });

  it("asks it as nsqd does: remote_ip, tls=false, the secret, no common_name", async () => {
    const c = await svc.connect();
    c.send(cmd.MAGIC_V2, cmd.auth("s3cret-v2"));
    expect(JSON.parse(await c.response())).toEqual({ identity: "billing", identity_url: "https://id.example/billing", permission_count: 1 });
    expect(Object.fromEntries(asked[0]!)).toEqual({ remote_ip: "127.0.0.1", tls: "false", secret: "s3cret-v2", common_name: "" });
    c.close();
    expect(svc.output).not.toContain("s3cret-v2");
  });

  it("HTTP: the answer decides, and is reused for its ttl", async () => {
    expect((await pub("h1")).status).toBe(200);
    expect((await pub("h1")).status).toBe(200);
    expect(asked.length).toBe(1);
    expect((await pub("h1", "invoices")).status).toBe(403);
    answer = { status: 200, body: JSON.stringify({ ttl: 60, authorizations: [] }) };
    expect((await pub("h2")).status).toBe(401);
  });

  for (const [name, fault, status] of [
    ["answers 500", { status: 500, body: "boom" }, 401],
    ["answers garbage", { status: 200, body: "<html>" }, 401],
    ["answers an unknown permission", { status: 200, body: JSON.stringify({ ttl: 60, authorizations: [{ topic: ".*", channels: [".*"], permissions: ["all"] }] }) }, 401],
    ["answers a ttl of 0", { status: 200, body: JSON.stringify({ ttl: 0, authorizations: [{ topic: ".*", channels: [".*"], permissions: ["publish"] }] }) }, 401],
    ["is slow (past HTTP_CLIENT_REQUEST_TIMEOUT)", "hang", 503],
  ] as [string, Answer, number][]) {
    it(`${name}: AUTH gets E_AUTH_FAILED and a close, HTTP ${status}, nothing is published`, async () => {
      const before = await depth("orders");
      answer = fault;
      const c = await svc.connect();
      c.send(cmd.MAGIC_V2, cmd.auth(`fault-${status}-${name.length}`), cmd.pub("orders", "never"));
      expect(await c.error(5000)).toBe("E_AUTH_FAILED AUTH failed");
      await c.closedByServer();
      const res = await pub(`http-fault-${name.length}`);
      expect(res.status).toBe(status);
      answer = grant(3600, ["publish", "subscribe"]);
      expect(await depth("orders")).toBe(before);
    });
  }

  it("while it is asked, what the client sends is held, bounded: past two bodies' worth the client is dropped", async () => {
    answer = "hang";
    const before = await depth("orders");
    const c = await svc.connect();
    const body = new Uint8Array(1_000_000).fill(120);
    c.send(cmd.MAGIC_V2, cmd.auth("held-bound"));
    for (let i = 0; i < 3; i++) c.send(cmd.mpub("orders", [body, body, body, body]));
    await c.closedByServer(3000);
    // Dropped, not answered: without the bound it would get E_AUTH_FAILED once the ask timed out.
    await expect(c.maybeNext(50)).rejects.toThrow(/connection closed/);
    answer = grant(3600, ["publish", "subscribe"]);
    expect(await depth("orders")).toBe(before);
  });

  it("is down: HTTP 503, AUTH E_AUTH_FAILED", async () => {
    const other = await Service.create({ AUTH_HTTP_ADDRESS: `127.0.0.1:${down}` });
    try {
      const res = await other.fetch("/pub?topic=orders", { method: "POST", body: "x", ...bearer("s") });
      expect(res.status).toBe(503);
      const c = await other.connect();
      c.send(cmd.MAGIC_V2, cmd.auth("s"));
      expect(await c.error()).toBe("E_AUTH_FAILED AUTH failed");
    } finally {
      await other.stop();
    }
  }, 90_000);

  it("ttl expiry mid-stream: the next PUB asks again; a refusal then stops it, not the messages in flight", async () => {
    // A topic of its own: a channel-less topic's backlog would go to this first channel.
    answer = grant(1, ["publish", "subscribe"], "^ttlorders$");
    const consumer = await svc.connect();
    consumer.send(cmd.MAGIC_V2, cmd.auth("ttl-consumer"), cmd.sub("ttlorders", "ttl"));
    await consumer.response();
    expect(await consumer.response()).toBe("OK");
    consumer.send(cmd.rdy(1));
    const producer = await svc.connect();
    producer.send(cmd.MAGIC_V2, cmd.auth("ttl-producer"), cmd.pub("ttlorders", "in flight"));
    await producer.response();
    expect(await producer.response()).toBe("OK");
    const m = await consumer.message();
    expect(text(m)).toBe("in flight");
    await new Promise((r) => setTimeout(r, 1200));
    // Asked again on expiry, and granted: the PUB goes through.
    const n = asked.length;
    producer.send(cmd.pub("ttlorders", "after expiry"));
    expect(await producer.response()).toBe("OK");
    expect(asked.length).toBe(n + 1);
    // Expired again, now refused: the next PUB fails and the connection closes.
    await new Promise((r) => setTimeout(r, 1200));
    answer = { status: 500, body: "revoked" };
    producer.send(cmd.pub("ttlorders", "refused"));
    expect(await producer.error()).toBe("E_AUTH_FAILED AUTH failed");
    await producer.closedByServer();
    // The consumer's message in flight is finished as usual: FIN needs no permission, as in nsqd.
    // With RDY 1, the next message comes only once the first is finished.
    consumer.send(cmd.fin(m.id));
    const m2 = await consumer.message();
    expect(text(m2)).toBe("after expiry");
    consumer.send(cmd.fin(m2.id));
    answer = grant(3600, ["subscribe"], "^ttlorders$");
    await eventually(async () => expect(await channelCounts("ttlorders", "ttl", "stats-ttl")).toEqual({ depth: 0, inFlight: 0 }));
    consumer.close();
  });

  it("ttl expiry to a narrower answer: E_UNAUTHORIZED on the next command", async () => {
    answer = grant(1, ["publish"]);
    const c = await svc.connect();
    c.send(cmd.MAGIC_V2, cmd.auth("narrowing"), cmd.pub("orders", "a"));
    await c.response();
    expect(await c.response()).toBe("OK");
    await new Promise((r) => setTimeout(r, 1200));
    answer = grant(60, ["publish"], "^invoices$");
    c.send(cmd.pub("orders", "b"));
    expect(await c.error()).toBe('E_UNAUTHORIZED AUTH failed for PUB on "orders" ""');
    await c.closedByServer();
  });

  describe("a session served by its channel's object (/ws?topic=&channel=)", () => {
    const named = (topic: string, channel: string) => `?topic=${topic}&channel=${channel}`;

    it("the upgrade's Bearer is checked once, by the Worker, and counts as AUTH there", async () => {
      answer = grant(3600, ["subscribe"], "^named$");
      const c = await svc.connect({ Authorization: "Bearer named-bearer" }, named("named", "ch"));
      expect(asked.length).toBe(1);
      c.send(cmd.MAGIC_V2, cmd.identify({ feature_negotiation: true }), cmd.sub("named", "ch"));
      expect(JSON.parse(await c.response()).auth_required).toBe(false);
      expect(await c.response()).toBe("OK");
      // The identity is the Worker's answer carried over: it allows subscribe only.
      c.send(cmd.pub("named", "x"));
      expect(await c.error()).toBe('E_UNAUTHORIZED AUTH failed for PUB on "named" ""');
      await c.closedByServer();
      expect(asked.length).toBe(1);
      // An unknown secret is refused before the upgrade, as on /ws.
      answer = { status: 200, body: JSON.stringify({ ttl: 60, authorizations: [] }) };
      await expect(svc.connect({ Authorization: "Bearer nope" }, named("named", "ch"))).rejects.toThrow(/401/);
    });

    it("the object keeps it only while the Bearer's answer allows it: asked again at each expiry, closed once refused", async () => {
      answer = grant(1, ["subscribe", "publish"], "^named3$");
      const c = await svc.connect({ Authorization: "Bearer named-expiring" }, named("named3", "ch"));
      c.send(cmd.MAGIC_V2, cmd.sub("named3", "ch"), cmd.rdy(1));
      expect(await c.response()).toBe("OK");
      const n = asked.length;
      // Past the ttl, without a command from the client: asked again (a session served by the
      // Worker would wait for the next SUB or PUB), granted again, still served.
      await eventually(() => expect(asked.length).toBeGreaterThan(n), 3000);
      expect(Object.fromEntries(asked.at(-1)!)).toMatchObject({ secret: "named-expiring" });
      c.send(cmd.pub("named3", "still"));
      expect(await c.response()).toBe("OK");
      expect(text(await c.message())).toBe("still");
      // Revoked: at the next expiry the connection closes, again without a command.
      answer = { status: 500, body: "revoked" };
      await c.closedByServer(4000);
      expect(svc.output).not.toContain("named-expiring");
    });

    // Without a Bearer that may subscribe there, the Worker serves it (no object is kept awake
    // before permission): the same answers as /ws.
    it("without a Bearer: AUTH first, as on /ws; a channel not granted is refused; expiry asks again", async () => {
      answer = grant(1, ["subscribe", "publish"], "^named2$");
      const c = await svc.connect({}, named("named2", "ch"));
      c.send(cmd.MAGIC_V2, cmd.sub("named2", "ch"));
      expect(await c.error()).toBe("E_AUTH_FIRST AUTH required before SUB");
      await c.closedByServer();
      const d = await svc.connect({}, named("named2", "ch"));
      d.send(cmd.MAGIC_V2, cmd.auth("named-v2"), cmd.sub("named2", "ch"), cmd.rdy(1));
      expect(JSON.parse(await d.response()).identity).toBe("billing");
      expect(await d.response()).toBe("OK");
      expect(Object.fromEntries(asked.at(-1)!)).toEqual({ remote_ip: "127.0.0.1", tls: "false", secret: "named-v2", common_name: "" });
      await new Promise((r) => setTimeout(r, 1200));
      const n = asked.length;
      d.send(cmd.pub("named2", "after expiry"));
      expect(await d.response()).toBe("OK");
      expect(asked.length).toBe(n + 1);
      expect(text(await d.message())).toBe("after expiry");
      answer = grant(3600, ["subscribe"], "^other$");
      const e = await svc.connect({}, named("named2", "ch"));
      e.send(cmd.MAGIC_V2, cmd.auth("named-other"), cmd.sub("named2", "ch"));
      await e.response();
      expect(await e.error()).toBe('E_UNAUTHORIZED AUTH failed for SUB on "named2" "ch"');
      await e.closedByServer();
      // A Bearer for another topic: upgraded all the same (served by the Worker), refused at SUB.
      const f = await svc.connect({ Authorization: "Bearer named-other-bearer" }, named("named2", "ch"));
      f.send(cmd.MAGIC_V2, cmd.sub("named2", "ch"));
      expect(await f.error()).toBe('E_UNAUTHORIZED AUTH failed for SUB on "named2" "ch"');
      await f.closedByServer();
      d.close();
      expect(svc.output).not.toContain("named-v2");
      expect(svc.output).not.toContain("named-bearer");
    });
  });
});

async function statsDoc(topic: string, secret = "stats-reader") {
  const res = await svc.fetch(`/stats?format=json&topic=${topic}`, bearer(secret));
  return (await res.json()) as { topics: { topic_name: string; depth: number; message_count: number; channels: { channel_name: string; depth: number; finish_count: number; in_flight_count: number }[] }[] | null };
}
async function depth(topic: string) {
  return (await statsDoc(topic)).topics?.[0]?.message_count ?? 0;
}
async function channelCounts(topic: string, channel: string, secret: string) {
  const ch = (await statsDoc(topic, secret)).topics?.[0]?.channels.find((c) => c.channel_name === channel);
  return { depth: ch?.depth, inFlight: ch?.in_flight_count };
}
