// The auth server client against real HTTP servers on this machine.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryAnyAuthd, type AuthdOptions } from "./authd";
import { Authenticator } from "./authenticator";
import { parseTokens, sha256, toHex } from "./tokens";

const ANSWER = { ttl: 30, identity: "billing", identity_url: "", authorizations: [{ topic: ".*", channels: [".*"], permissions: ["publish"] }] };
const asked: { url: string; method: string; body: string }[] = [];
let ok: Server, failing: Server, garbage: Server, slow: Server;
let closedPort = 0;

function serve(answer: (req: IncomingMessage, body: string) => [number, string] | null): Promise<Server> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      asked.push({ url: req.url!, method: req.method!, body });
      const a = answer(req, body);
      if (a) res.writeHead(a[0]).end(a[1]);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
const addr = (s: Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;

beforeAll(async () => {
  ok = await serve(() => [200, JSON.stringify(ANSWER)]);
  failing = await serve(() => [500, "boom"]);
  garbage = await serve(() => [200, "<html>"]);
  slow = await serve(() => null); // never answers
  const spare = await serve(() => null);
  closedPort = (spare.address() as AddressInfo).port;
  await new Promise((r) => spare.close(r));
});
afterAll(() => {
  for (const s of [ok, failing, garbage, slow]) s.closeAllConnections(), s.close();
});

const opts = (addresses: string[], extra: Partial<AuthdOptions> = {}): AuthdOptions => ({
  addresses, method: "get", timeoutMs: 300, fetch, now: () => 1000, random: () => 0, ...extra,
});

describe("asking nsqd's auth servers", () => {
  it("asks GET /auth with nsqd's parameters and takes a valid answer", async () => {
    asked.length = 0;
    const r = await queryAnyAuthd(opts([addr(ok)]), "10.0.0.7", "s e&cret");
    expect("state" in r && r.state.identity).toBe("billing");
    expect("state" in r && r.state.expires).toBe(1000 + 30_000);
    const url = new URL(asked[0]!.url, "http://x");
    expect(url.pathname).toBe("/auth");
    expect(Object.fromEntries(url.searchParams)).toEqual({ remote_ip: "10.0.0.7", tls: "false", secret: "s e&cret", common_name: "" });
  });

  it("POSTs the same form with method post, and uses a full URL as it is", async () => {
    asked.length = 0;
    await queryAnyAuthd(opts([`http://${addr(ok)}/check`], { method: "post" }), "1.2.3.4", "x");
    expect(asked[0]!.method).toBe("POST");
    expect(asked[0]!.url).toBe("/check");
    expect(new URLSearchParams(asked[0]!.body).get("secret")).toBe("x");
  });

  it("tries the next server when one fails, from a random start", async () => {
    const r = await queryAnyAuthd(opts([addr(failing), `127.0.0.1:${closedPort}`, addr(ok)], { random: () => 0 }), "ip", "s");
    expect("state" in r).toBe(true);
  });

  it("fails with every server's reason, never the URL asked (it holds the secret)", async () => {
    const r = await queryAnyAuthd(opts([addr(failing), addr(garbage)]), "ip", "TOPSECRET");
    expect("error" in r && r.answered).toBe(true);
    const error = "error" in r ? r.error : "";
    expect(error).toContain(`failed to auth against ${addr(failing)} - got response 500 "boom"`);
    expect(error).toContain(`failed to auth against ${addr(garbage)} - the answer is not JSON`);
    expect(error).not.toContain("TOPSECRET");
  });

  it("tells a server that answered nothing (down, slow) from one that refused", async () => {
    const down = await queryAnyAuthd(opts([`127.0.0.1:${closedPort}`]), "ip", "s");
    expect(down).toEqual({ error: `failed to auth against 127.0.0.1:${closedPort} - no answer (connection failed)`, answered: false });
    const t0 = Date.now();
    const timedOut = await queryAnyAuthd(opts([addr(slow)]), "ip", "s");
    expect("error" in timedOut && timedOut.error).toMatch(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("refuses an answer nsqd refuses", async () => {
    const bad = await serve(() => [200, JSON.stringify({ ttl: 0, authorizations: [] })]);
    const r = await queryAnyAuthd(opts([addr(bad)]), "ip", "s");
    expect("error" in r && r.error).toMatch(/invalid TTL 0/);
    bad.close();
  });
});

describe("the authenticator", () => {
  it("tries tokens first, then the auth servers; 401 when refused, 503 when none answered", async () => {
    const tokens = parseTokens(JSON.stringify({ [toHex(await sha256("tok"))]: { identity: "from-token", authorizations: [] } }));
    if (typeof tokens === "string") throw new Error(tokens);
    let clock = 0;
    const deps = { fetch, now: () => clock, random: () => 0, timeoutMs: 300 };
    const both = new Authenticator({ mode: "on", tokens, addresses: [addr(ok)], method: "get" }, deps);
    expect(await both.authenticate("tok", "ip")).toMatchObject({ state: { identity: "from-token" } });
    expect(await both.authenticate("other", "ip")).toMatchObject({ state: { identity: "billing" } });
    const tokensOnly = new Authenticator({ mode: "on", tokens, addresses: [], method: "get" }, deps);
    expect(await tokensOnly.authenticate("other", "ip")).toEqual({ error: "unknown token", status: 401 });
    const refusing = new Authenticator({ mode: "on", tokens: null, addresses: [addr(failing)], method: "get" }, deps);
    expect(await refusing.authenticate("x", "ip")).toMatchObject({ status: 401 });
    const down = new Authenticator({ mode: "on", tokens: null, addresses: [`127.0.0.1:${closedPort}`], method: "get" }, deps);
    expect(await down.authenticate("x", "ip")).toMatchObject({ status: 503 });
  });

  it("reuses an HTTP answer for its ttl, per secret and address, then asks again", async () => {
    let clock = 0;
    const a = new Authenticator({ mode: "on", tokens: null, addresses: [addr(ok)], method: "get" }, { fetch, now: () => clock, random: () => 0, timeoutMs: 300 });
    asked.length = 0;
    await a.cached("s", "ip1");
    await a.cached("s", "ip1");
    expect(asked.length).toBe(1);
    await a.cached("s", "ip2");
    await a.cached("t", "ip1");
    expect(asked.length).toBe(3);
    clock = 30_001;
    await a.cached("s", "ip1");
    expect(asked.length).toBe(4);
    // AUTH on a connection always asks, as nsqd does.
    await a.authenticate("s", "ip1");
    expect(asked.length).toBe(5);
  });
});
