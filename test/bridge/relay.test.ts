// The bridge as a relay, against a scripted stand-in for the service (an HTTP server with a
// WebSocket endpoint at /ws), so that each side can be made slow, closed or refusing at will:
// byte streams both ways, backpressure in both directions with bounded memory, closing either
// side, the token on every request, and the nsqd HTTP forwarder.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { freePort } from "../e2e/service";
import { Bridge, cli, eventually, sleep } from "./helpers";

/** A stand-in for the service: /ping, /lookup, /nodes, /stats, /pub, and /ws. */
class FakeService {
  server = http.createServer((req, res) => this.onRequest(req, res));
  wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 << 20 });
  requests: { method: string; url: string; auth?: string; body: string }[] = [];
  upgrades: { auth?: string }[] = [];
  /** When set, requests without `Authorization: Bearer <token>` are refused with 401. */
  token: string | null = null;
  refuseUpgrades = false;
  onSocket: (ws: WebSocket) => void = () => {};
  url = "";

  async start() {
    this.server.on("upgrade", (req, socket, head) => {
      this.upgrades.push({ auth: req.headers.authorization });
      if (!this.authorized(req) || this.refuseUpgrades || req.url !== "/ws") {
        socket.end(`HTTP/1.1 ${this.refuseUpgrades ? "503 Service Unavailable" : "401 Unauthorized"}\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  authorized(req: http.IncomingMessage) {
    return this.token === null || req.headers.authorization === `Bearer ${this.token}`;
  }

  onRequest(req: http.IncomingMessage, res: http.ServerResponse) {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      this.requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      if (!this.authorized(req)) {
        res.writeHead(401, { "Content-Type": "text/plain" });
        return res.end("unauthorized");
      }
      const json = (v: unknown) => {
        res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "X-NSQ-Content-Type": "nsq; version=1.0" });
        res.end(JSON.stringify(v));
      };
      const peer = { remote_address: "svc:443", hostname: "svc", broadcast_address: "svc.example", tcp_port: 443, http_port: 443, version: "1.3.0", topology_zone: "", topology_region: "" };
      const path = req.url!.split("?")[0];
      if (path === "/ping") return res.end("OK");
      if (path === "/info") return json({ version: "1.3.0", broadcast_address: "svc.example" });
      if (path === "/lookup") return json({ channels: ["c"], producers: [peer] });
      if (path === "/nodes") return json({ producers: [{ ...peer, tombstones: [false, false], topics: ["a", "b"] }] });
      if (path === "/topics") return json({ topics: ["a", "b"] });
      if (path === "/pub") return res.end("OK");
      res.writeHead(404, { "Content-Type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ message: "NOT_FOUND" }));
    });
  }

  async stop() {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });

/** The next WebSocket the fake service accepts. */
const nextSocket = (svc: FakeService) => new Promise<WebSocket>((r) => (svc.onSocket = r));

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

let svc: FakeService;
let bridge: Bridge;

beforeAll(async () => {
  svc = new FakeService();
  await svc.start();
  bridge = await Bridge.open(svc.url);
});
afterAll(async () => {
  await bridge?.stop();
  await svc?.stop();
});
afterEach(() => {
  svc.onSocket = () => {};
});

describe("relay", () => {
  it("carries both byte streams as they are, split however TCP splits them", async () => {
    const accepted = nextSocket(svc);
    const tcp = await connect(bridge.tcpPort);
    const ws = await accepted;
    const fromClient: Buffer[] = [];
    ws.on("message", (d: Buffer) => fromClient.push(d));
    tcp.write("  V2");
    tcp.write("IDENTIFY\n");
    await eventually(() => expect(Buffer.concat(fromClient).toString()).toBe("  V2IDENTIFY\n"));
    const fromService: Buffer[] = [];
    tcp.on("data", (d) => fromService.push(d));
    ws.send(Buffer.from([0, 0, 0, 6, 0, 0, 0, 0, 79, 75])); // a response frame, "OK"
    await eventually(() => expect([...Buffer.concat(fromService)]).toEqual([0, 0, 0, 6, 0, 0, 0, 0, 79, 75]));
    tcp.destroy();
  });

  it("a slow TCP client pauses the WebSocket: the service can only get so far ahead, memory stays bounded, nothing is lost", async () => {
    const accepted = nextSocket(svc);
    const tcp = await connect(bridge.tcpPort);
    tcp.pause(); // the client does not read
    const ws = await accepted;
    const rssBefore = rssMiB(bridge.proc.pid!);
    const total = 192 << 20;
    let sent = 0;
    const sentHash = createHash("sha256");
    // The service sends 192 MiB as fast as its own socket takes it.
    const pump = () => {
      while (sent < total && ws.bufferedAmount < 4 << 20) {
        const chunk = Buffer.alloc(1 << 20, sent >> 20); // ws keeps a reference until written
        sentHash.update(chunk);
        ws.send(chunk);
        sent += chunk.length;
      }
      if (sent < total) setTimeout(pump, 5);
      else ws.close(1000);
    };
    pump();
    await sleep(2000);
    // Without backpressure all 192 MiB would be through by now; with it, only what the kernel's
    // socket buffers and the bridge's one message in hand hold.
    const aheadMiB = (sent - ws.bufferedAmount) / (1 << 20);
    expect(aheadMiB).toBeLessThan(96);
    expect(sent).toBeLessThan(total);
    expect(rssMiB(bridge.proc.pid!) - rssBefore).toBeLessThan(48);
    // The client reads: every byte arrives, in order, then the service's close ends the stream.
    const gotHash = createHash("sha256");
    let got = 0;
    tcp.on("data", (d: Buffer) => {
      gotHash.update(d);
      got += d.length;
    });
    const ended = new Promise((r) => tcp.once("end", r));
    tcp.resume();
    await ended;
    expect(got).toBe(total);
    expect(gotHash.digest("hex")).toBe(sentHash.digest("hex"));
    tcp.destroy();
  });

  it("a slow service pauses the TCP socket: the client's writes back up, nothing is lost", async () => {
    const accepted = nextSocket(svc);
    const tcp = await connect(bridge.tcpPort);
    const ws = await accepted;
    ws.pause(); // the service does not read
    let got = 0;
    const gotHash = createHash("sha256");
    ws.on("message", (d: Buffer) => {
      gotHash.update(d);
      got += d.length;
    });
    const rssBefore = rssMiB(bridge.proc.pid!);
    const total = 192 << 20;
    const chunk = Buffer.alloc(1 << 20);
    const sentHash = createHash("sha256");
    let written = 0;
    let writing = true;
    const write = () => {
      while (written < total) {
        chunk.fill(written >> 20);
        sentHash.update(chunk);
        written += chunk.length;
        if (!tcp.write(Buffer.from(chunk))) return void tcp.once("drain", write);
      }
      writing = false;
      tcp.end();
    };
    write();
    await sleep(2000);
    expect(writing).toBe(true);
    const acceptedMiB = (written - tcp.writableLength) / (1 << 20);
    expect(acceptedMiB).toBeLessThan(96);
    expect(rssMiB(bridge.proc.pid!) - rssBefore).toBeLessThan(48);
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.resume();
    expect(await closed).toBe(1000); // the client's end closes the WebSocket normally, after its bytes
    expect(got).toBe(total);
    expect(gotHash.digest("hex")).toBe(sentHash.digest("hex"));
    tcp.destroy();
  });

  it("the client half-closing closes the WebSocket (1000) once the service has answered what it sent", async () => {
    const accepted = nextSocket(svc);
    const tcp = await connect(bridge.tcpPort);
    const ws = await accepted;
    ws.on("message", (d: Buffer) => setTimeout(() => ws.send(Buffer.concat([Buffer.from("re:"), d])), 100));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    let reply = "";
    tcp.on("data", (d) => (reply += d));
    const ended = new Promise((r) => tcp.once("end", r));
    tcp.end("PUB"); // write, then half-close
    expect(await closed).toBe(1000);
    await ended;
    expect(reply).toBe("re:PUB");
  });

  it("the service closing (or dying) closes the TCP connection", async () => {
    let accepted = nextSocket(svc);
    let tcp = await connect(bridge.tcpPort);
    let ws = await accepted;
    let ended = new Promise((r) => tcp.once("end", r));
    ws.close(1000);
    await ended;
    tcp.destroy();

    accepted = nextSocket(svc);
    tcp = await connect(bridge.tcpPort);
    ws = await accepted;
    const closed = new Promise((r) => tcp.once("close", r));
    tcp.resume();
    ws.terminate(); // no closing handshake: as when the service's process is killed
    await closed;
  });

  it("a refused upgrade closes the client's connection and is logged in one line", async () => {
    svc.refuseUpgrades = true;
    try {
      const tcp = await connect(bridge.tcpPort);
      tcp.write("  V2");
      tcp.resume();
      await new Promise((r) => tcp.once("close", r));
      await eventually(() => expect(bridge.stderr).toMatch(/nsq-edge bridge: 127\.0\.0\.1:\d+: ws:\/\/127\.0\.0\.1:\d+\/ws: Unexpected server response: 503\n/));
    } finally {
      svc.refuseUpgrades = false;
    }
  });
});

describe("nsqlookupd API and nsqd HTTP forwarder", () => {
  it("/lookup and /nodes advertise the bridge; /topics, /ping, /info come from the service; unknown paths and methods as nsqlookupd", async () => {
    const base = `http://${bridge.lookupd}`;
    const self = { remote_address: `127.0.0.1:${bridge.tcpPort}`, broadcast_address: "127.0.0.1", tcp_port: bridge.tcpPort, http_port: bridge.httpPort, version: "1.3.0", topology_zone: "", topology_region: "" };
    expect(await (await fetch(`${base}/lookup?topic=a`)).json()).toEqual({ channels: ["c"], producers: [{ ...self, hostname: expect.any(String) }] });
    expect(await (await fetch(`${base}/nodes`)).json()).toEqual({ producers: [{ ...self, hostname: expect.any(String), tombstones: [false, false], topics: ["a", "b"] }] });
    expect(await (await fetch(`${base}/topics`)).json()).toEqual({ topics: ["a", "b"] });
    expect(await (await fetch(`${base}/ping`)).text()).toBe("OK");
    expect(await (await fetch(`${base}/info`)).json()).toEqual({ version: "1.3.0" });
    const notFound = await fetch(`${base}/debug/pprof`);
    expect([notFound.status, await notFound.json()]).toEqual([404, { message: "NOT_FOUND" }]);
    const wrongMethod = await fetch(`${base}/lookup?topic=a`, { method: "POST" });
    expect([wrongMethod.status, wrongMethod.headers.get("allow"), await wrongMethod.json()]).toEqual([405, "GET, OPTIONS", { message: "METHOD_NOT_ALLOWED" }]);
  });

  it("the nsqd HTTP API is forwarded: method, path, query and body", async () => {
    const res = await fetch(`http://127.0.0.1:${bridge.httpPort}/pub?topic=a&defer=10`, { method: "POST", body: "hello" });
    expect(await res.text()).toBe("OK");
    expect(svc.requests.at(-1)).toMatchObject({ method: "POST", url: "/pub?topic=a&defer=10", body: "hello" });
    const missing = await fetch(`http://127.0.0.1:${bridge.httpPort}/nope`);
    expect([missing.status, await missing.json()]).toEqual([404, { message: "NOT_FOUND" }]);
  });

  it("no forwarder where the service itself is (then lookupd advertises its port), or with --no-http; --broadcast-address", async () => {
    const svcPort = Number(new URL(svc.url).port);
    const local = await Bridge.open(svc.url, ["--http-address", `127.0.0.1:${svcPort}`, "--broadcast-address", "bridge.local"]);
    try {
      expect(local.stdout).toContain(`  nsqd HTTP        the service itself, ${svc.url}\n`);
      const body = (await (await fetch(`http://${local.lookupd}/lookup?topic=a`)).json()) as any;
      expect(body.producers[0]).toMatchObject({ broadcast_address: "bridge.local", tcp_port: local.tcpPort, http_port: svcPort });
    } finally {
      await local.stop();
    }
    const none = await Bridge.open(svc.url, ["--no-http"]);
    try {
      expect(none.stdout).toContain("  nsqd HTTP        disabled (--no-http)\n");
    } finally {
      await none.stop();
    }
  });

  it("the nsqd HTTP port also forwards WebSocket upgrades to /ws", async () => {
    const accepted = nextSocket(svc);
    const client = new WebSocket(`ws://127.0.0.1:${bridge.httpPort}/ws`);
    await new Promise((r, j) => (client.once("open", r), client.once("error", j)));
    const ws = await accepted;
    ws.on("message", (d: Buffer) => ws.send(d));
    const echo = new Promise<string>((r) => client.once("message", (d: Buffer) => r(d.toString())));
    client.send("ping");
    expect(await echo).toBe("ping");
    client.close();
  });
});

describe("--token", () => {
  it("is sent as a bearer token on the upgrade, the lookupd requests and the forwarded requests", async () => {
    const secured = new FakeService();
    secured.token = "s3cret";
    await secured.start();
    const b = await Bridge.open(secured.url, ["--token", "s3cret"]);
    try {
      const accepted = nextSocket(secured);
      const tcp = await connect(b.tcpPort);
      await accepted;
      tcp.destroy();
      expect(secured.upgrades.at(-1)!.auth).toBe("Bearer s3cret");
      expect((await fetch(`http://${b.lookupd}/lookup?topic=a`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${b.httpPort}/pub?topic=a`, { method: "POST", body: "x" })).status).toBe(200);
      expect(secured.requests.map((r) => [r.url.split("?")[0], r.auth])).toEqual([
        ["/ping", "Bearer s3cret"], // the bridge's check at start
        ["/lookup", "Bearer s3cret"],
        ["/pub", "Bearer s3cret"],
      ]);
    } finally {
      await b.stop();
      await secured.stop();
    }
  });

  it("a refused or missing token, an unreachable service, a bad URL, a busy port: one line and the exit code", async () => {
    const secured = new FakeService();
    secured.token = "s3cret";
    await secured.start();
    try {
      const local = ["--tcp-address", "127.0.0.1:0", "--lookupd-http-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0"];
      const wrong = await cli(["bridge", "--url", secured.url, "--token", "nope", ...local]);
      expect([wrong.code, wrong.stderr]).toEqual([1, `nsq-edge bridge: the service at ${secured.url} refused the token (HTTP 401)\n`]);
      const none = await cli(["bridge", "--url", secured.url, ...local]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/^nsq-edge bridge: the service at \S+ requires a token \(HTTP 401\): pass --token or set NSQ_EDGE_TOKEN\n$/);
    } finally {
      await secured.stop();
    }
    const port = await freePort();
    const gone = await cli(["bridge", "--url", `http://127.0.0.1:${port}`, "--tcp-address", "127.0.0.1:0"]);
    expect([gone.code, gone.stderr]).toEqual([1, `nsq-edge bridge: cannot reach the service at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`]);
    const bad = await cli(["bridge", "--url", "127.0.0.1:4151"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('nsq-edge bridge: bad URL "127.0.0.1:4151": expected http(s)://host[:port] (see nsq-edge bridge --help)\n');
    const busy = await cli(["bridge", "--url", svc.url, "--tcp-address", `127.0.0.1:${bridge.tcpPort}`]);
    expect([busy.code, busy.stderr]).toEqual([1, `nsq-edge bridge: cannot listen on 127.0.0.1:${bridge.tcpPort} (nsqd TCP): address already in use\n`]);
  });
});
