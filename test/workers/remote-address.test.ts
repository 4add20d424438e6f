// A client's remote_address in /stats: the IP Cloudflare's edge vouches for (CF-Connecting-IP),
// the port (or, locally, the whole address) a bridge reports in X-NSQ-Remote-Address, and never
// ":0" posing as a port. (Through a real bridge: test/bridge/remote-address.test.ts.)
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { formatPeer, parseAddress, remoteAddress } from "../../src/protocol/remote-address";
import type { ClientStats } from "../../src/stats";
import { cmd, TestClient } from "../helpers/v2client";
import { statsJson, unique } from "../helpers/workers";
import { eventually } from "../helpers/wait";

const open: TestClient[] = [];
afterEach(() => {
  for (const c of open.splice(0)) if (!c.closed) c.close();
});

/** A V2 connection whose /ws upgrade carries `headers`. */
async function connectWith(headers: Record<string, string>): Promise<TestClient> {
  const res = await SELF.fetch("http://nsq.test/ws", { headers: { Upgrade: "websocket", ...headers } });
  const ws = res.webSocket!;
  ws.binaryType = "arraybuffer";
  ws.accept();
  const c = new TestClient(ws as never);
  open.push(c);
  return c;
}

/** The one client of the topic's channel, as /stats shows it. */
function clientShown(topic: string): Promise<ClientStats> {
  return eventually(async () => {
    const clients = (await statsJson(`&topic=${topic}`)).topics![0]?.channels[0]?.clients ?? [];
    expect(clients).toHaveLength(1);
    return clients[0];
  });
}

/** A consumer whose /ws upgrade carries `headers`; resolves to its remote_address in /stats. */
async function addressShown(headers: Record<string, string>): Promise<string> {
  const c = await connectWith(headers);
  const topic = unique("addr");
  await c.subscribe(topic, "ch", 0);
  return (await clientShown(topic)).remote_address;
}

describe("remote_address of a /ws client", () => {
  it("a direct client with nothing known: the IP alone, no made-up port", async () => {
    expect(await addressShown({})).toBe("127.0.0.1");
  });

  it("behind Cloudflare's edge: CF-Connecting-IP, without a port", async () => {
    expect(await addressShown({ "CF-Connecting-IP": "203.0.113.7" })).toBe("203.0.113.7");
    expect(await addressShown({ "CF-Connecting-IP": "2001:DB8::7" })).toBe("[2001:db8::7]");
  });

  it("a bridge's report, locally: taken whole", async () => {
    expect(await addressShown({ "X-NSQ-Remote-Address": "127.0.0.1:50123" })).toBe("127.0.0.1:50123");
  });

  it("a bridge's report behind the edge: only its port; the IP stays the edge's (a client cannot spoof it)", async () => {
    expect(await addressShown({ "CF-Connecting-IP": "203.0.113.7", "X-NSQ-Remote-Address": "10.1.2.3:50124" })).toBe("203.0.113.7:50124");
  });

  it("a client that sends no IDENTIFY is named by its host, as nsqd's SplitHostPort gives it", async () => {
    const c = await connectWith({ "CF-Connecting-IP": "2001:DB8::7", "X-NSQ-Remote-Address": "[::1]:50125" });
    const topic = unique("addr");
    c.send(cmd.MAGIC_V2, cmd.sub(topic, "ch"));
    expect(await c.response()).toBe("OK");
    const client = await clientShown(topic);
    expect([client.remote_address, client.client_id, client.hostname]).toEqual(["[2001:db8::7]:50125", "2001:db8::7", "2001:db8::7"]);
  });

  it("a malformed report is ignored", async () => {
    expect(await addressShown({ "X-NSQ-Remote-Address": "evil\"host:1" })).toBe("127.0.0.1");
    expect(await addressShown({ "CF-Connecting-IP": "203.0.113.7", "X-NSQ-Remote-Address": "1.2.3.4:99999" })).toBe("203.0.113.7");
  });

  it("shows in the text /stats as nsqd's hostname:port, the port empty when unknown", async () => {
    const topic = unique("addr-text");
    for (const [h, port] of [["127.0.0.1:50125", "50125"], [undefined, ""]] as const) {
      const res = await SELF.fetch("http://nsq.test/ws", { headers: { Upgrade: "websocket", ...(h ? { "X-NSQ-Remote-Address": h } : {}) } });
      const ws = res.webSocket!;
      ws.binaryType = "arraybuffer";
      ws.accept();
      const c = new TestClient(ws as never);
      open.push(c);
      await c.subscribe(topic, `ch${port || "none"}`, 0, { hostname: "box", user_agent: "ua" });
      await eventually(async () => {
        const text = await (await SELF.fetch(`http://nsq.test/stats?topic=${topic}`)).text();
        expect(text).toContain(`[V2 box:${port} ua`);
      });
    }
  });
});

describe("parsing and formatting", () => {
  it("parses nsqd's forms and rejects the rest", () => {
    expect(parseAddress("127.0.0.1:4150")).toEqual({ host: "127.0.0.1", port: 4150 });
    expect(parseAddress("[::1]:4150")).toEqual({ host: "[::1]", port: 4150 });
    expect(parseAddress("::ffff:10.0.0.1")).toEqual({ host: "10.0.0.1", port: null });
    expect(parseAddress("10.0.0.1")).toEqual({ host: "10.0.0.1", port: null });
    for (const bad of ["", "host:1", "1.2.3.4:0", "1.2.3.4:70000", "[nope]:1", "1.2.3.4:1:2"]) expect(parseAddress(bad)).toBeNull();
  });

  it("formats a socket's peer as Go's JoinHostPort does", () => {
    expect(formatPeer("127.0.0.1", 5000)).toBe("127.0.0.1:5000");
    expect(formatPeer("::ffff:127.0.0.1", 5000)).toBe("127.0.0.1:5000");
    expect(formatPeer("::1", 5000)).toBe("[::1]:5000");
    expect(formatPeer(undefined, undefined)).toBeNull();
  });

  it("takes workerd's cf.clientIp (the real peer, on a socket without a cf blob) when nothing else is known", () => {
    const req = (headers: Record<string, string>, clientIp: string) => new Request("http://nsq.test/ws", { headers, cf: { clientIp } } as RequestInit);
    expect(remoteAddress(req({}, "192.0.2.9:41000"))).toBe("192.0.2.9:41000");
    // A bridge on this machine reports its client; a remote peer cannot claim another address.
    expect(remoteAddress(req({ "X-NSQ-Remote-Address": "127.0.0.1:5001" }, "127.0.0.1:41001"))).toBe("127.0.0.1:5001");
    expect(remoteAddress(req({ "X-NSQ-Remote-Address": "127.0.0.1:5001" }, "192.0.2.9:41002"))).toBe("192.0.2.9:41002");
  });
});
