// The nsq-edge command end to end, as a process against the service: pub (arguments and
// standard input), tail -n, stat, dev, --help everywhere, and the errors and exit codes scripts
// rely on (0 ok, 1 failure, 2 usage).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort } from "../e2e/service";
import { Proc, channelStats, cli, eventually, root, serviceUrl, unique } from "./helpers";

const url = () => serviceUrl();

/** As nsqd, the service creates a channel only in an existing topic. */
async function createChannel(topic: string, channel: string) {
  for (const p of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=${channel}`])
    expect((await fetch(url() + p, { method: "POST" })).status).toBe(200);
}

describe("--help and usage errors", () => {
  it("every subcommand has --help (exit 0, on stdout)", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    for (const sub of ["bridge", "pub", "tail", "stat", "dev"]) expect(top.stdout).toContain(`  ${sub} `);
    for (const sub of ["bridge", "pub", "tail", "stat", "dev"]) {
      const res = await cli([sub, "--help"]);
      expect([res.code, res.stderr]).toEqual([0, ""]);
      expect(res.stdout).toMatch(new RegExp(`^usage: nsq-edge ${sub} `));
      expect((await cli(["help", sub])).stdout).toBe(res.stdout);
    }
  });

  it("`npx nsq-edge --help` works in the checkout (package.json bin)", async () => {
    const { stdout } = await promisify(execFile)("npx", ["--no-install", "nsq-edge", "--help"], { cwd: root, timeout: 30_000 });
    expect(stdout).toMatch(/^usage: nsq-edge <command>/);
  });

  it("usage errors: one line pointing at --help, exit 2", async () => {
    const cases: [string[], string][] = [
      [[], "usage: nsq-edge <command> [options]"],
      [["frobnicate"], 'nsq-edge: unknown command "frobnicate" (see nsq-edge --help)'],
      [["pub"], "nsq-edge pub: a topic is required (see nsq-edge pub --help)"],
      [["pub", "a b", "x"], 'nsq-edge pub: bad topic name "a b": 1 to 64 of [.a-zA-Z0-9_-], optionally ending in #ephemeral (see nsq-edge pub --help)'],
      [["pub", "t", "--nope"], "nsq-edge pub: Unknown option '--nope' (see nsq-edge pub --help)"],
      [["pub", "t", "x", "--url", "ftp://example.com"], 'nsq-edge pub: bad URL "ftp://example.com": expected http(s)://host[:port] (see nsq-edge pub --help)'],
      [["tail"], "nsq-edge tail: a topic is required (see nsq-edge tail --help)"],
      [["tail", "a", "b"], "nsq-edge tail: one topic, not 2 (see nsq-edge tail --help)"],
      [["tail", "t", "-n", "zero"], 'nsq-edge tail: -n: not a whole number: "zero" (see nsq-edge tail --help)'],
      [["stat", "t"], "nsq-edge stat: a topic and a channel are required (see nsq-edge stat --help)"],
      [["stat", "t", "c", "--interval", "soon"], 'nsq-edge stat: --interval: not a duration: "soon" (e.g. 500ms, 2s, 1m) (see nsq-edge stat --help)'],
    ];
    for (const [args, line] of cases) {
      const res = await cli(args, { env: { NSQ_EDGE_URL: url() } });
      expect(res.code, args.join(" ")).toBe(2);
      expect(res.stderr.startsWith(line + "\n"), `${args.join(" ")}: ${res.stderr}`).toBe(true);
      if (args.length) expect(res.stderr.split("\n")).toHaveLength(2); // one line
    }
  });

  it("runtime errors: an unreachable service, a refused token: one line, exit 1", async () => {
    const port = await freePort();
    for (const args of [["pub", "t", "x"], ["tail", "t"], ["stat", "t", "c"]]) {
      const res = await cli([...args, "--url", `http://127.0.0.1:${port}`]);
      expect([res.code, res.stderr]).toEqual([1, `nsq-edge ${args[0]}: cannot reach the service at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`]);
    }
    // A service that wants another token (as an access proxy in front of it would answer).
    const guard = http.createServer((req, res) => {
      res.writeHead(req.headers.authorization ? 403 : 401).end("no");
    });
    await new Promise<void>((r) => guard.listen(0, "127.0.0.1", r));
    const guarded = `http://127.0.0.1:${(guard.address() as AddressInfo).port}`;
    try {
      const refused = await cli(["pub", "t", "x", "--url", guarded, "--token", "wrong"]);
      expect([refused.code, refused.stderr]).toEqual([1, `nsq-edge pub: the service at ${guarded} refused the token (HTTP 403)\n`]);
      const fromEnv = await cli(["tail", "t"], { env: { NSQ_EDGE_URL: guarded, NSQ_EDGE_TOKEN: "wrong" } });
      expect([fromEnv.code, fromEnv.stderr]).toEqual([1, `nsq-edge tail: the service at ${guarded} refused the token (HTTP 403)\n`]);
      const none = await cli(["stat", "t", "c", "--url", guarded]);
      expect([none.code, none.stderr]).toEqual([1, `nsq-edge stat: the service at ${guarded} requires a token (HTTP 401): pass --token or set NSQ_EDGE_TOKEN\n`]);
    } finally {
      guard.close();
    }
  });

  it("a WebSocket refused after /ping answered: pub and tail say why in one line, exit 1", async () => {
    let status = 403;
    const half = http.createServer((_req, res) => res.end("OK"));
    half.on("upgrade", (_req, socket) => socket.end(`HTTP/1.1 ${status} No\r\nContent-Length: 0\r\n\r\n`));
    await new Promise<void>((r) => half.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(half.address() as AddressInfo).port}`;
    try {
      const pub = await cli(["pub", "t", "x", "--url", base, "--token", "t0"]);
      expect([pub.code, pub.stderr]).toEqual([1, `nsq-edge pub: the service at ${base} refused the token (HTTP 403)\n`]);
      status = 503;
      const tail = await cli(["tail", "t", "--url", base]);
      expect(tail.code).toBe(1);
      expect(tail.stderr).toMatch(/^nsq-edge tail: cannot subscribe to t\/tail\d{6}#ephemeral: ws:\/\/\S+\/ws answered 503 to a WebSocket upgrade\n$/);
    } finally {
      half.close();
    }
  });
});

describe("pub", () => {
  it("publishes its arguments (one PUB, or one MPUB for several)", async () => {
    const topic = unique("pub");
    await createChannel(topic, "c");
    const one = await cli(["pub", topic, "hello", "--url", url()]);
    expect([one.code, one.stdout, one.stderr]).toEqual([0, "", `published 1 message to ${topic}\n`]);
    const many = await cli(["pub", topic, "a", "b", "c", "--url", url(), "-q"]);
    expect([many.code, many.stdout, many.stderr]).toEqual([0, "", ""]);
    expect((await channelStats(url(), topic, "c"))!.message_count).toBe(4);
  });

  it("publishes standard input line by line in MPUB batches; tail -n reads them all back", async () => {
    const topic = unique("stdin");
    await createChannel(topic, "c");
    const lines = Array.from({ length: 2500 }, (_, i) => `line ${i} ${"x".repeat(i % 50)}`);
    const res = await cli(["pub", topic, "--url", url(), "--batch", "300"], { input: lines.join("\n") + "\n\n" });
    expect([res.code, res.stderr]).toEqual([0, `published 2500 messages to ${topic}\n`]);
    expect((await channelStats(url(), topic, "c"))!.depth).toBe(2500);
    const tail = await cli(["tail", topic, "--channel", "c", "-n", "2500", "--url", url()]);
    expect(tail.code).toBe(0);
    expect(tail.stdout.split("\n").slice(0, -1).sort()).toEqual([...lines].sort());
    await eventually(async () => expect((await channelStats(url(), topic, "c"))!.depth).toBe(0));
  });

  it("a message the service refuses (too big): one line, exit 1", async () => {
    const topic = unique("big");
    const res = await cli(["pub", topic, "--url", url()], { input: "small\n" + "y".repeat(1_100_000) + "\n" });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^nsq-edge pub: the service refused the publish: E_BAD_MESSAGE .*\n$/);
  });
});

describe("tail", () => {
  it("prints messages as they arrive on an ephemeral channel of its own; -n N exits 0 after N", async () => {
    const topic = unique("tail");
    await fetch(`${url()}/topic/create?topic=${topic}`, { method: "POST" });
    const tail = Proc.start(["tail", topic, "-n", "3", "--url", url()]);
    // Subscribed once its channel (tail123456#ephemeral) shows a client.
    const channel = await eventually(async () => {
      const stats = (await (await fetch(`${url()}/stats?format=json&topic=${topic}`)).json()) as any;
      const ch = stats.topics[0].channels.find((c: any) => /^tail\d{6}#ephemeral$/.test(c.channel_name) && c.client_count === 1);
      expect(ch).toBeDefined();
      return ch.channel_name as string;
    }, 15_000);
    const pub = await cli(["pub", topic, "one", "two", "three", "four", "--url", url(), "-q"]);
    expect(pub.code).toBe(0);
    expect(await tail.exited).toEqual({ code: 0, signal: null });
    expect(tail.stdout).toBe("one\ntwo\nthree\n");
    // The ephemeral channel went away with its only consumer.
    await eventually(async () => {
      const stats = (await (await fetch(`${url()}/stats?format=json&topic=${topic}`)).json()) as any;
      expect(stats.topics[0].channels.map((c: any) => c.channel_name)).not.toContain(channel);
    });
  });

  it("--print-topic; Ctrl-C (SIGINT) exits 0", async () => {
    const topic = unique("tailp");
    await createChannel(topic, "keep");
    await cli(["pub", topic, "m1", "--url", url(), "-q"]);
    const tail = Proc.start(["tail", topic, "--channel", "keep", "--print-topic", "--url", url()]);
    await tail.waitFor(/m1\n/);
    expect(tail.stdout).toBe(`${topic} | m1\n`);
    tail.proc.kill("SIGINT");
    expect(await tail.exited).toEqual({ code: 0, signal: null });
  });
});

describe("stat", () => {
  it("prints nsq_stat's table: the header, then one line per interval", async () => {
    const topic = unique("stat");
    await createChannel(topic, "c");
    await cli(["pub", topic, "a", "b", "c", "--url", url(), "-q"]);
    const res = await cli(["stat", topic, "c", "--interval", "200ms", "--count", "1", "--url", url()]);
    expect([res.code, res.stderr]).toEqual([0, ""]);
    const lines = res.stdout.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe("------rate------+----------------depth----------------+--------------metadata---------------");
    expect(lines[1]!.split(/[\s|]+/).filter(Boolean)).toEqual(["ingress", "egress", "total", "mem", "disk", "inflt", "def", "req", "t-o", "msgs", "clients"]);
    // rates 0 0 | depth 3, in memory 0 and in storage 3 (a channel without consumers reads
    // nothing into memory), 0 in flight, 0 deferred | 0 requeued, 0 timed out, 3 messages, 0 clients
    expect(lines[2]!.split(/[\s|]+/).filter(Boolean).map(Number)).toEqual([0, 0, 3, 0, 3, 0, 0, 0, 0, 3, 0]);
    expect(lines[3]).toBe("");
  });

  it("an unknown channel: one line, exit 1", async () => {
    const topic = unique("stat");
    await createChannel(topic, "c");
    const res = await cli(["stat", topic, "nope", "--count", "1", "--url", url()]);
    expect([res.code, res.stderr]).toEqual([1, `nsq-edge stat: no channel nope in topic ${topic}\n`]);
  });
});

describe("dev", () => {
  it("starts the local service as npm start does; SIGTERM stops it (exit 0)", async () => {
    const port = await freePort();
    const data = mkdtempSync(path.join(tmpdir(), "nsq-edge-dev-"));
    try {
      const dev = Proc.start(["dev", "--port", String(port), "--data", data]);
      await dev.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 60_000);
      const pub = await cli(["pub", "devtopic", "x", "--url", `http://127.0.0.1:${port}`, "-q"]);
      expect(pub.code).toBe(0);
      dev.proc.kill("SIGTERM");
      expect((await dev.exited).code).toBe(0);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
