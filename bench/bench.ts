// `npm run bench`: starts the service as `npm start` does (a fresh state directory) and measures
// publish, consume, HTTP, latency, fan-out and memory. Prints a table and writes
// bench/results/<date>.json. Not part of `npm test`.
//
//   npm run bench -- --duration 10 --publishers 2 --consumers 2 --backlog 1000000
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, mkdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import * as cmd from "../src/protocol/commands";
import { openLoop } from "./open-loop";
import { FrameReader, FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, frameText } from "../src/protocol/frames";

const { values: opt } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    publishers: { type: "string", default: "2" },
    consumers: { type: "string", default: "2" },
    "batch-size": { type: "string", default: "200" },
    "msg-size": { type: "string", default: "200" },
    backlog: { type: "string", default: "1000000" },
    rdy: { type: "string", default: "2500" },
    "http-connections": { type: "string", default: "32" },
    "latency-rate": { type: "string", default: "5000" },
    channels: { type: "string", default: "10" },
    "many-channels": { type: "string", default: "1000" },
    // How workload 8's consumers connect: /ws (as any V2 client, the bridge's), named (/ws?topic&channel, the client library's servedByChannel).
    "many-modes": { type: "string", default: "ws,named" },
    // How the other workloads' consumers connect (the bridge's always over TCP).
    "consumer-url": { type: "string", default: "ws" },
    "shard-rate": { type: "string", default: "600" },
    only: { type: "string", default: "" },
    port: { type: "string", default: "4171" },
    // workerd's V8 inspector on this port, for bench/profile.ts to record a CPU profile.
    inspect: { type: "string" },
  },
});
const DURATION = Number(opt.duration);
const W = Number(opt.publishers);
const R = Number(opt.consumers);
const BATCH = Number(opt["batch-size"]);
const SIZE = Number(opt["msg-size"]);
const BACKLOG = Number(opt.backlog);
const RDY = Number(opt.rdy);
const only = new Set(opt.only ? opt.only.split(",") : []);
const wanted = (name: string) => only.size === 0 || only.has(name);
// scripts/run-ts.mjs runs a bundled copy; argv[1] is still this file.
const root = path.resolve(path.dirname(process.argv[1]), "..");

// ---- the service --------------------------------------------------------------------------

class Service {
  proc!: ChildProcess;
  readonly url: string;
  readonly ws: string;
  /** Where V2 connections go: the service's /ws, or the bridge's TCP port. */
  dial: string;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "nsq-edge-bench-"));
  constructor(readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
    this.ws = `ws://127.0.0.1:${port}/ws`;
    this.dial = this.ws;
  }
  async start() {
    this.proc = spawn(process.execPath, [
      "scripts/start.mjs",
      ...["--port", String(this.port), "--data", this.dir],
      ...(opt.inspect ? ["--inspect", opt.inspect] : []),
    ], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      let out = "";
      this.proc.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("listening on")) resolve();
      });
      this.proc.on("exit", (code) => reject(new Error(`service exited ${code}`)));
    });
  }
  /** workerd's processes (esbuild's service process is a child too: left out). */
  private workerdPids(): number[] {
    return descendants(this.proc.pid!).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
      } catch {
        return false;
      }
    });
  }
  /** Resident memory in MB of the runtime (workerd: every object lives there) and of Miniflare's Node parent. */
  memory(): { workerd: number; node: number } {
    const rss = (pid: number) => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
      } catch {
        return 0; // exited
      }
    };
    const workerd = this.workerdPids().reduce((sum, pid) => sum + rss(pid), 0);
    return { workerd: Math.round(workerd), node: Math.round(rss(this.proc.pid!)) };
  }
  /**
   * CPU seconds used so far (user + system) by workerd (every object and the Worker), by the
   * Node parent (Miniflare and the HTTP front, scripts/http-front.mjs, which passes every byte
   * of a connection on) and by this process (the load generator).
   */
  cpu(): { workerd: number; front: number; generator: number } {
    const own = process.cpuUsage();
    return {
      workerd: this.workerdPids().reduce((sum, pid) => sum + cpuSecs(pid), 0),
      front: cpuSecs(this.proc.pid!),
      generator: (own.user + own.system) / 1e6,
    };
  }
  stop() {
    try {
      process.kill(-this.proc.pid!, "SIGKILL");
    } catch {
      // gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) a process has used. */
function cpuSecs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** CPU µs per unit (message, delivery) of each process between two readings. */
function cpuPer(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(Object.keys(before).map((k) => [k, round(((after[k]! - before[k]!) * 1e6) / Math.max(1, units))]));
}
const cpuText = (per: Record<string, number>) => Object.entries(per).map(([k, v]) => `${k} ${v}`).join(", ");

function descendants(pid: number): number[] {
  try {
    const kids = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
    return kids.flatMap((k) => [k, ...descendants(k)]);
  } catch {
    return [];
  }
}

// ---- a lean V2 connection ----------------------------------------------------------------

interface Handlers {
  response?: (text: string) => void;
  message?: (data: Uint8Array) => void;
}

/** A V2 connection over a WebSocket (ws://...) or, through the bridge, plain TCP (tcp://host:port). */
class Conn {
  private reader = new FrameReader();
  private constructor(
    private readonly out: { send(d: Uint8Array): void; close(): void },
    subscribe: (onData: (d: Buffer) => void) => void,
    handlers: Handlers,
  ) {
    subscribe((d: Buffer) => {
      for (const f of this.reader.feed(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))) {
        if (f.type === FRAME_MESSAGE) handlers.message?.(f.data);
        else if (f.type === FRAME_ERROR) throw new Error(`server error: ${frameText(f)}`);
        else if (f.type === FRAME_RESPONSE) {
          const text = frameText(f);
          if (text === "_heartbeat_") this.send(cmd.nop());
          else handlers.response?.(text);
        }
      }
    });
  }
  static async open(address: string, handlers: Handlers): Promise<Conn> {
    let conn: Conn;
    if (address.startsWith("tcp://")) {
      const [host, port] = address.slice(6).split(":");
      const sock = net.connect({ host, port: Number(port), noDelay: true });
      await new Promise((resolve, reject) => {
        sock.once("connect", resolve);
        sock.once("error", reject);
      });
      conn = new Conn({ send: (d) => sock.write(d), close: () => sock.end() }, (f) => sock.on("data", f), handlers);
    } else {
      // A zero masking key (valid, and a no-op): this client is no browser, and the XOR over
      // every byte it sends would otherwise be a cost of the load generator, not of the service.
      const ws = new WebSocket(address, { perMessageDeflate: false, generateMask: (m: Buffer) => void m.fill(0) });
      await new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      conn = new Conn({ send: (d) => ws.send(d), close: () => ws.close() }, (f) => ws.on("message", f), handlers);
    }
    conn.send(cmd.MAGIC_V2);
    return conn;
  }
  send(data: Uint8Array) {
    this.out.send(data);
  }
  close() {
    this.out.close();
  }
}

const body = (n: number) => new Uint8Array(n).fill(120);

const FIN_ = new TextEncoder().encode("FIN ");
/** "FIN <id>\n" for a message frame's data, its id bytes copied (no string per message: the generator's cost is not the service's). */
function finOf(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(21);
  out.set(FIN_);
  out.set(message.subarray(10, 26), 4);
  out[20] = 10;
  return out;
}

/**
 * Where a consumer of topic/channel connects: to /ws as any V2 client (the client library's
 * default), or with --consumer-url named with its channel in the URL, served by its object.
 */
function consumerDial(svc: Service, topic: string, channel: string): string {
  return svc.dial.startsWith("tcp://") || opt["consumer-url"] === "ws" ? svc.dial : namedDial(svc, topic, channel);
}

/** The /ws URL with the channel named (served by the channel's object). */
const namedDial = (svc: Service, topic: string, channel: string) =>
  `${svc.dial}?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`;

/**
 * A consumer of topic/channel at `rdy` that FINs every message, the FINs of one WebSocket
 * message together (as a client library sends them); `onMessage` sees each message first.
 */
async function finningConsumer(svc: Service, topic: string, channel: string, rdy: number, onMessage: (data: Uint8Array) => void): Promise<Conn> {
  let fins: Uint8Array[] = [];
  const conn: Conn = await Conn.open(consumerDial(svc, topic, channel), {
    message: (data) => {
      onMessage(data);
      fins.push(finOf(data));
      if (fins.length === 1)
        queueMicrotask(() => {
          conn.send(cmd.concatAll(fins));
          fins = [];
        });
    },
  });
  conn.send(cmd.sub(topic, channel));
  conn.send(cmd.rdy(rdy));
  return conn;
}

// ---- workloads ---------------------------------------------------------------------------

/** W publishers, each keeping 4 WebSocket messages in flight, for `secs` or `limit` messages. */
async function publish(svc: Service, topic: string, opts: { secs: number; mode: "mpub" | "pub"; limit?: number; keyed?: boolean }) {
  const msg = body(SIZE);
  // One WebSocket message: an MPUB of BATCH messages, or BATCH pipelined PUBs (`keyed`: each
  // with an idempotency key of its own, built anew per message).
  let key = 0;
  const fixed =
    opts.mode === "mpub"
      ? cmd.mpub(topic, Array.from({ length: BATCH }, () => msg))
      : cmd.concatAll(Array.from({ length: BATCH }, () => cmd.pub(topic, msg)));
  const nextUnit = opts.keyed ? () => cmd.concatAll(Array.from({ length: BATCH }, () => cmd.pub(topic, msg, `k${key++}`))) : () => fixed;
  const oksPerUnit = opts.mode === "mpub" ? 1 : BATCH;
  const msgsPerOk = opts.mode === "mpub" ? BATCH : 1;
  const WINDOW = 4;
  let acked = 0;
  let sent = 0;
  const limit = opts.limit ?? Infinity;
  const t0 = performance.now();
  const end = t0 + opts.secs * 1000;
  const more = () => performance.now() < end && sent < limit;
  await Promise.all(
    Array.from({ length: W }, async () => {
      let outstanding = 0; // OKs still owed
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const conn = await Conn.open(svc.dial, {
        response: () => {
          acked += msgsPerOk;
          outstanding--;
          if (outstanding <= (WINDOW - 1) * oksPerUnit && more()) push();
          if (outstanding === 0 && !more()) done();
        },
      });
      const push = () => {
        conn.send(nextUnit());
        sent += BATCH;
        outstanding += oksPerUnit;
      };
      while (outstanding < WINDOW * oksPerUnit && more()) push();
      if (outstanding === 0) done();
      await finished;
      conn.close();
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { msgs: acked, secs: round(secs), rate: acked / secs, mbps: (acked * SIZE) / secs / 1e6 };
}

/** R consumers with RDY `rdy`, FIN every message (FINs of one event coalesced), until `target`. */
async function consume(svc: Service, topic: string, channel: string, target: number, rdy = RDY, sample?: () => void) {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const t0 = performance.now();
  const timer = sample ? setInterval(sample, 250) : undefined;
  const conns = await Promise.all(
    Array.from({ length: R }, async () => {
      let fins: Uint8Array[] = [];
      const conn: Conn = await Conn.open(consumerDial(svc, topic, channel), {
        message: (data) => {
          got++;
          fins.push(finOf(data));
          if (fins.length === 1) queueMicrotask(flush);
        },
      });
      const flush = () => {
        conn.send(cmd.concatAll(fins));
        fins = [];
        if (got >= target) done();
      };
      conn.send(cmd.sub(topic, channel));
      conn.send(cmd.rdy(rdy));
      return conn;
    }),
  );
  await finished;
  const secs = (performance.now() - t0) / 1000;
  if (timer) clearInterval(timer);
  for (const c of conns) c.close();
  return { msgs: got, secs: round(secs), rate: got / secs, mbps: (got * SIZE) / secs / 1e6 };
}

async function post(svc: Service, pathAndQuery: string, data: string) {
  // A fresh connection each time: a pooled one may have been closed while a workload ran.
  const res = await fetch(svc.url + pathAndQuery, { method: "POST", body: data, headers: { connection: "close" } });
  if (!res.ok) throw new Error(`${pathAndQuery}: ${res.status} ${await res.text()}`);
}

/** `conns` keep-alive connections issuing requests back to back for `secs`. */
/**
 * `conns` keep-alive connections posting back to back for `secs`: with wrk when it is installed
 * (Debian's wrk: a load generator that costs little CPU), else with Node's http client.
 */
async function httpLoad(svc: Service, pathAndQuery: string, payload: Uint8Array | null, conns: number, secs: number) {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (e) {
    // wrk --version exits 1 after printing its version; only a missing binary lands here.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return nodeHttpLoad(svc, pathAndQuery, payload, conns, secs);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "nsq-edge-wrk-"));
  const script = path.join(dir, "post.lua");
  writeFileSync(script, payload ? `wrk.method = "POST"\nwrk.body = ${JSON.stringify(new TextDecoder().decode(payload))}\n` : "");
  const out = execFileSync("wrk", ["-t2", `-c${conns}`, `-d${secs}s`, "--latency", "-s", script, svc.url + pathAndQuery], {
    encoding: "utf8",
  });
  rmSync(dir, { recursive: true, force: true });
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (!m) return NaN;
    return round(Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1));
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (non2xx > 0) throw new Error(`wrk: ${non2xx} failed requests\n${out}`);
  return { requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0), rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0), p50: ms("50"), p99: ms("99"), p999: NaN, tool: "wrk" };
}

async function nodeHttpLoad(svc: Service, pathAndQuery: string, payload: Uint8Array | null, conns: number, secs: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  let ok = 0;
  const lat: number[] = [];
  const end = performance.now() + secs * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t = performance.now();
      const req = http.request(svc.url + pathAndQuery, { method: payload ? "POST" : "GET", agent, headers: { "content-length": payload?.length ?? 0 } }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) ok++;
          lat.push(performance.now() - t);
          resolve();
        });
      });
      req.on("error", reject);
      req.end(payload ?? undefined);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  const s = (performance.now() - t0) / 1000;
  return { requests: ok, rate: ok / s, ...percentiles(lat), tool: "node http" };
}

function percentiles(values: number[]) {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => (v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : NaN);
  return { p50: round(at(0.5)), p99: round(at(0.99)), p999: round(at(0.999)) };
}
const round = (n: number) => Math.round(n * 100) / 100;

/** Publish at a steady rate with send times in the bodies; measure publish-to-delivery. */
async function latency(svc: Service, rate: number, secs: number) {
  const topic = "bench-latency";
  await post(svc, `/topic/create?topic=${topic}`, "");
  await post(svc, `/channel/create?topic=${topic}&channel=c`, "");
  const lat: number[] = [];
  const consumer = await finningConsumer(svc, topic, "c", RDY, (data) => {
    const sentAt = Number(new TextDecoder().decode(data.subarray(26, 26 + 20)).trim());
    lat.push(performance.now() + performance.timeOrigin - sentAt);
  });
  const producer = await Conn.open(svc.dial, {});
  const template = new Uint8Array(SIZE).fill(120);
  // Every millisecond tick publishes what the rate owes by then, one PUB per message.
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.floor((elapsed / 1000) * rate);
      const parts: Uint8Array[] = [];
      const stamp = new TextEncoder().encode(String(performance.now() + performance.timeOrigin).padEnd(20, " "));
      while (sent < due) {
        const b = template.slice();
        b.set(stamp, 0);
        parts.push(cmd.pub(topic, b));
        sent++;
      }
      // A client writes each PUB as it comes; the tick coalesces those of one millisecond.
      if (parts.length) producer.send(cmd.concatAll(parts));
      if (elapsed >= secs * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const deadline = performance.now() + 10_000;
  while (lat.length < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  producer.close();
  consumer.close();
  const warm = lat.slice(Math.floor(lat.length * 0.1));
  return { sent, delivered: lat.length, rate: round(sent / secs), ...percentiles(warm) };
}

/** One topic, N channels with a consumer each: total deliveries per second. */
async function fanout(svc: Service, channels: number, secs: number) {
  const topic = "bench-fanout";
  await post(svc, `/topic/create?topic=${topic}`, "");
  for (let i = 0; i < channels; i++) await post(svc, `/channel/create?topic=${topic}&channel=c${i}`, "");
  let delivered = 0;
  const conns: Conn[] = [];
  for (let i = 0; i < channels; i++) conns.push(await finningConsumer(svc, topic, `c${i}`, RDY, () => void delivered++));
  const t0 = performance.now();
  const pub = await publish(svc, topic, { secs, mode: "mpub" });
  const expected = pub.msgs * channels;
  const deadline = performance.now() + 60_000;
  while (delivered < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const s = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  return { published: pub.msgs, delivered, secs: round(s), rate: delivered / s };
}

/**
 * One topic with `channels` channels, one consumer each at RDY 1 (FIN each), and `msgs` messages
 * in one /mpub: the time until every channel has delivered every message. Its cost per channel
 * per published batch is what a fan-out to many small consumers pays.
 */
async function manyChannels(svc: Service, channels: number, msgs: number, named: boolean) {
  const topic = named ? "bench-many-named" : "bench-many";
  await post(svc, `/topic/create?topic=${topic}`, "");
  for (let i = 0; i < channels; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, channels - i) }, (_, k) => post(svc, `/channel/create?topic=${topic}&channel=c${i + k}`, "")));
  }
  let delivered = 0;
  const conns: Conn[] = [];
  let subscribed = 0;
  for (let i = 0; i < channels; i += 50) {
    conns.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, channels - i) }, async (_, k) => {
          let ok!: () => void;
          const ready = new Promise<void>((r) => (ok = r));
          // Named: the channel in the URL (the client library's servedByChannel).
          const address = named ? namedDial(svc, topic, `c${i + k}`) : svc.dial;
          const conn: Conn = await Conn.open(address, {
            response: () => ok(),
            message: (data) => {
              delivered++;
              conn.send(finOf(data));
            },
          });
          conn.send(cmd.sub(topic, `c${i + k}`));
          await ready;
          conn.send(cmd.rdy(1));
          subscribed++;
          return conn;
        }),
      )),
    );
  }
  const lines = Array.from({ length: msgs }, (_, i) => `m${i}`.padEnd(SIZE - 1, "x")).join("\n");
  const cpu0 = svc.cpu();
  const t0 = performance.now();
  await post(svc, `/mpub?topic=${topic}`, lines);
  const acked = performance.now() - t0;
  const expected = msgs * channels;
  const deadline = performance.now() + 300_000;
  while (delivered < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const s = (performance.now() - t0) / 1000;
  const cpu1 = svc.cpu();
  for (const c of conns) c.close();
  // CPU per delivery of each process: on 2 cores, their sum bounds the rate this machine can reach.
  const cpu_us_per_delivery = cpuPer(cpu0, cpu1, delivered);
  return { channels: subscribed, msgs, delivered, mpub_ms: round(acked), secs: round(s), rate: delivered / s, us_per_channel_batch: round((s * 1e6) / channels), cpu_us_per_delivery };
}

/** Events each object of `topic` (topic shards and their channel `c`) has taken, by object name. */
async function requestsOf(svc: Service, topic: string): Promise<Map<string, number>> {
  const res = await fetch(`${svc.url}/stats?format=json&topic=${topic}&include_requests=true&include_clients=false`);
  const doc = (await res.json()) as { topics: { topic_name: string; requests?: number; channels: { channel_name: string; requests?: number }[]; shards?: unknown[] }[] };
  const t = doc.topics[0]!;
  const shards = (t.shards ?? [t]) as typeof doc.topics;
  const out = new Map<string, number>();
  shards.forEach((s, i) => {
    const name = i === 0 ? topic : `${topic}/${i}`;
    out.set(`topic ${name}`, s.requests ?? 0);
    for (const c of s.channels) out.set(`channel ${name}/${c.channel_name}`, c.requests ?? 0);
  });
  return out;
}

/**
 * The scale model of sharding (issue 14): one topic of `n` shards with a channel consumed by R
 * connections (RDY 2500, FIN each), HTTP /pub at a steady `rate` (open loop) for `secs`: the
 * events each object takes per second, the busiest, and what was delivered; then MPUB publishers
 * at full speed (workload 1's) for the throughput this machine reaches with n shards.
 */
async function shardScale(svc: Service, n: number, rate: number, secs: number) {
  const topic = `bench-shards-${n}`;
  await post(svc, `/topic/create?topic=${topic}&shards=${n}`, "");
  await post(svc, `/channel/create?topic=${topic}&channel=c`, "");
  let delivered = 0;
  const conns = await Promise.all(
    Array.from({ length: R }, () => finningConsumer(svc, topic, "c", RDY, () => void delivered++)),
  );
  await new Promise((r) => setTimeout(r, 500));
  const before = await requestsOf(svc, topic);
  const t0 = performance.now();
  const pub = await openLoop(svc.url, "POST", `/pub?topic=${topic}`, body(SIZE), rate, secs);
  const deadline = performance.now() + 10_000;
  while (delivered < pub.ok && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const elapsed = (performance.now() - t0) / 1000;
  const after = await requestsOf(svc, topic);
  const perSecond = [...after].map(([name, count]) => ({ name, per_s: round((count - (before.get(name) ?? 0)) / secs) }));
  const busiest = perSecond.reduce((a, b) => (b.per_s > a.per_s ? b : a));
  const deliveredOpenLoop = delivered;
  const mpub = await publish(svc, topic, { secs, mode: "mpub" });
  for (const c of conns) c.close();
  return { shards: n, offered: rate, pub, delivered: deliveredOpenLoop, delivered_rate: deliveredOpenLoop / elapsed, objects: perSecond, busiest, mpub_rate: mpub.rate };
}

/** A write+fsync loop on the state directory's disk: the cost of one durable commit, now. */
function fsyncProbe(dir: string, n = 300) {
  const file = path.join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const buf = Buffer.alloc(4096, 1);
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    writeSync(fd, buf, 0, buf.length, 0);
    fsyncSync(fd);
    t.push(performance.now() - s);
  }
  closeSync(fd);
  rmSync(file);
  return percentiles(t);
}

// ---- main --------------------------------------------------------------------------------

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  node: process.version,
  options: opt,
};
const rows: [string, string][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Each workload gets a fresh service (process and state directory): millions of messages stored
 * by one workload, and the heap they grew, would otherwise weigh on the next one's figures
 * (measured: /pub 2,500 – 2,700 req/s alone, 1,600 – 2,200 after the publish workloads).
 */
async function withService(fn: (svc: Service) => Promise<void>) {
  const svc = new Service(Number(opt.port));
  await svc.start();
  try {
    await fn(svc);
  } finally {
    svc.stop();
    // The gigabytes a workload wrote would otherwise still be going to disk during the next
    // one, and every fsync there would wait behind them (measured: latency p99 10 ms alone,
    // 60 - 310 ms right after the HTTP workload).
    execFileSync("sync");
  }
}

if (wanted("publish")) {
  await withService(async (svc) => {
    for (const t of ["bench-mpub", "bench-pub"]) {
      await post(svc, `/topic/create?topic=${t}`, "");
      await post(svc, `/channel/create?topic=${t}&channel=c`, "");
    }
    const cpu0 = svc.cpu();
    const m = await publish(svc, "bench-mpub", { secs: DURATION, mode: "mpub" });
    const mCpu = cpuPer(cpu0, svc.cpu(), m.msgs);
    results.publish_mpub = { ...m, cpu_us_per_msg: mCpu };
    rows.push([`1. publish MPUB ${BATCH}×${SIZE}B, ${W} WS publishers`, `${fmt(m.rate)} msgs/s, ${m.mbps.toFixed(1)} MB/s; CPU µs per message: ${cpuText(mCpu)}`]);
    const p = await publish(svc, "bench-pub", { secs: DURATION, mode: "pub" });
    results.publish_pub = p;
    rows.push([`1. publish PUB pipelined, ${W} WS publishers`, `${fmt(p.rate)} msgs/s, ${p.mbps.toFixed(1)} MB/s`]);
  });
}
if (wanted("consume")) {
  await withService(async (svc) => {
    // Warm-up: the runtime's heap and allocator grow to their working size over the first few
    // hundred thousand messages; without this, a cold process at 100k would be compared with a
    // warm one at 1M.
    await post(svc, "/topic/create?topic=bench-warm", "");
    await post(svc, "/channel/create?topic=bench-warm&channel=c", "");
    const warm = await publish(svc, "bench-warm", { secs: 3600, mode: "mpub", limit: 300_000 });
    await consume(svc, "bench-warm", "c", warm.msgs, RDY);
    await post(svc, "/topic/create?topic=bench-sub", "");
    await post(svc, "/channel/create?topic=bench-sub&channel=c", "");
    const fill100k = await publish(svc, "bench-sub", { secs: 3600, mode: "mpub", limit: Math.min(100_000, BACKLOG) });
    const memAt100k = svc.memory();
    const fill = await publish(svc, "bench-sub", { secs: 3600, mode: "mpub", limit: BACKLOG - fill100k.msgs });
    const memAtFull = svc.memory();
    let peakDuring = 0;
    const c = await consume(svc, "bench-sub", "c", fill100k.msgs + fill.msgs, RDY, () => {
      peakDuring = Math.max(peakDuring, svc.memory().workerd);
    });
    results.consume = { ...c, backlog: fill100k.msgs + fill.msgs, fill_rate: fill.rate };
    results.memory = {
      workerd_rss_at_100k_mb: memAt100k.workerd,
      workerd_rss_at_full_mb: memAtFull.workerd,
      workerd_rss_peak_during_consume_mb: peakDuring,
      miniflare_node_rss_mb: memAtFull.node,
    };
    rows.push([`2. consume ${fmt(c.msgs)} backlog, ${R} consumers, RDY ${RDY}, FIN each`, `${fmt(c.rate)} msgs/s, ${c.mbps.toFixed(1)} MB/s`]);
    rows.push([
      `7. workerd RSS: backlog ${fmt(fill100k.msgs)} / ${fmt(fill100k.msgs + fill.msgs)} / peak while consuming`,
      `${memAt100k.workerd} / ${memAtFull.workerd} / ${peakDuring} MB (Miniflare's Node parent: ${memAtFull.node} MB)`,
    ]);
  });
}
if (wanted("http")) {
  await withService(async (svc) => {
    await post(svc, "/topic/create?topic=bench-http", "");
    await post(svc, "/channel/create?topic=bench-http&channel=c", "");
    // The figures /pub is held to, from this run: the runtime's own rate (/ping, no object
    // call) and the disk's commit time (a publish is answered once durable: C connections
    // waiting for one commit each could do C / fsync).
    const fsync = fsyncProbe(svc.dir);
    results.fsync = fsync;
    rows.push(["   fsync of a 4 KiB write on the state directory's disk", `p50 ${fsync.p50} ms, p99 ${fsync.p99} ms`]);
    const levels: Record<string, unknown>[] = [];
    let pubAt32 = 0;
    // workerd's CPU per request (the Worker and every object run on its one thread); wrk's own
    // CPU is not counted (another process), the Node front's is.
    const measured = async (pathAndQuery: string, payload: Uint8Array | null, conns: number) => {
      const before = svc.cpu();
      const r = await httpLoad(svc, pathAndQuery, payload, conns, DURATION);
      const per = cpuPer(before, svc.cpu(), r.requests);
      return { ...r, cpu_us_per_request: { workerd: per.workerd!, front: per.front! } };
    };
    for (const conns of [8, 32, 128]) {
      const ping = await measured("/ping", null, conns);
      const pub = await measured("/pub?topic=bench-http", body(SIZE), conns);
      const bound = Math.min(ping.rate, conns / (fsync.p50 / 1000));
      const p99Bound = 2 * ping.p99 + 4 * fsync.p50;
      levels.push({ conns, ping, pub, bound, efficiency: pub.rate / bound, p99_bound: p99Bound });
      if (conns === 32) pubAt32 = pub.rate;
      rows.push([
        `3. HTTP /pub ${SIZE}B, ${conns} connections`,
        `${fmt(pub.rate)} req/s (p50 ${pub.p50} ms, p99 ${pub.p99} ms) = ${Math.round((100 * pub.rate) / bound)}% of min(/ping ${fmt(ping.rate)} (p99 ${ping.p99} ms), C/fsync ${fmt(conns / (fsync.p50 / 1000))}); p99 ${pub.p99 <= p99Bound ? "≤" : ">"} 2×/ping p99 + 4 fsync = ${round(p99Bound)} ms; ` +
          `workerd CPU µs per request: /pub ${pub.cpu_us_per_request.workerd}, /ping ${ping.cpu_us_per_request.workerd}`,
      ]);
    }
    results.http_pub = levels;
    const lines = new TextEncoder().encode(Array.from({ length: BATCH }, () => "x".repeat(SIZE - 1)).join("\n"));
    const conns = Number(opt["http-connections"]);
    const hm = await httpLoad(svc, "/mpub?topic=bench-http", lines, conns, DURATION);
    results.http_mpub = { ...hm, msgs_per_s: hm.rate * BATCH };
    rows.push([`3. HTTP /mpub ${BATCH} msgs, ${conns} connections`, `${fmt(hm.rate)} req/s = ${fmt(hm.rate * BATCH)} msgs/s`]);
    // Half the saturated rate, open loop: what a request waits when the service is not the queue.
    const rate = Math.max(100, Math.round(pubAt32 / 2));
    const olPub = await openLoop(svc.url, "POST", "/pub?topic=bench-http", body(SIZE), rate, DURATION);
    const olPing = await openLoop(svc.url, "GET", "/ping", new Uint8Array(0), rate, DURATION);
    const olBound = 5 + 2 * fsync.p50;
    results.http_open_loop = { rate, pub: olPub, ping: olPing, p99_bound: olBound };
    rows.push([
      `3. HTTP /pub at ${fmt(rate)} req/s, open loop (half the 32-connection rate)`,
      `p50 ${olPub.p50} ms, p90 ${olPub.p90} ms, p99 ${olPub.p99} ms, p99.9 ${olPub.p999} ms (target p99 ≤ ${round(olBound)} ms); /ping at the same rate: p50 ${olPing.p50}, p99 ${olPing.p99} ms`,
    ]);
  });
}
if (wanted("latency")) {
  await withService(async (svc) => {
    const l = await latency(svc, Number(opt["latency-rate"]), DURATION);
    results.latency = l;
    rows.push([`4. e2e latency at ${fmt(l.rate)} msgs/s (PUB → delivery)`, `p50 ${l.p50} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms`]);
  });
}
if (wanted("fanout")) {
  await withService(async (svc) => {
    const f = await fanout(svc, Number(opt.channels), DURATION);
    results.fanout = f;
    rows.push([`5. fan-out to ${opt.channels} channels, 1 consumer each`, `${fmt(f.rate)} deliveries/s`]);
  });
}
if (wanted("many")) {
  await withService(async (svc) => {
    const channels = Number(opt["many-channels"]);
    for (const named of opt["many-modes"]!.split(",").map((m) => m === "named")) {
      const m = await manyChannels(svc, channels, 100, named);
      results[named ? "many_channels_named" : "many_channels"] = m;
      rows.push([
        `8. ${fmt(channels)} channels × 1 consumer (RDY 1), 100 msgs in one /mpub${named ? ", /ws?topic&channel" : ", /ws"}`,
        `${fmt(m.delivered)} deliveries in ${m.secs} s = ${fmt(m.rate)}/s (${fmt(m.us_per_channel_batch)} µs per channel per batch); ` +
          `CPU µs per delivery: ${cpuText(m.cpu_us_per_delivery)}`,
      ]);
    }
  });
}
if (wanted("shards")) {
  const levels: Awaited<ReturnType<typeof shardScale>>[] = [];
  for (const n of [1, 4, 16]) {
    await withService(async (svc) => {
      const s = await shardScale(svc, n, Number(opt["shard-rate"]), DURATION);
      levels.push(s);
      const topics = s.objects.filter((o) => o.name.startsWith("topic"));
      const channels = s.objects.filter((o) => o.name.startsWith("channel"));
      const avg = (xs: { per_s: number }[]) => round(xs.reduce((a, b) => a + b.per_s, 0) / xs.length);
      rows.push([
        `9. ${n} shard${n > 1 ? "s" : ""}: /pub at ${fmt(s.offered)} req/s open loop, ${R} consumers`,
        `${fmt(s.delivered_rate)} delivered/s, p99 ${s.pub.p99} ms; events per object per s: busiest ${s.busiest.per_s} (${s.busiest.name}), topic shards ${avg(topics)}, channels ${avg(channels)}; MPUB at full speed ${fmt(s.mpub_rate)} msgs/s`,
      ]);
    });
  }
  results.shards = levels;
}
if (wanted("features")) {
  // Each setting on its own topic, against the same run's topic with none, in turns (A B A B ...:
  // drift over the run falls on all; the median of the rounds): publish (PUB pipelined) and
  // consume (a backlog, FIN each).
  await withService(async (svc) => {
    const secs = Math.max(2, DURATION / 3);
    const ROUNDS = 4;
    const variants: { name: string; topic?: Record<string, unknown>; channel?: Record<string, unknown>; keyed?: boolean }[] = [
      { name: "none" },
      { name: "dedup (a key per PUB, window 10m)", topic: { dedup_window: "10m" }, keyed: true },
      { name: "max_depth 10^9, reject", channel: { max_depth: 1e9 } },
      { name: "max_depth 10^9, drop_oldest", channel: { max_depth: 1e9, overflow: "drop_oldest" } },
      { name: "msg_ttl 1h", channel: { msg_ttl: "1h" } },
      { name: "max_attempts 5", channel: { max_attempts: 5 } },
      { name: "retention 1h", channel: { retention: "1h" } },
    ];
    const out: Record<string, { publish: number[]; consume: number[] }> = {};
    const N = Math.min(BACKLOG, 100_000);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, v] of variants.entries()) {
        const topic = `bench-f${i}-${round}`;
        await post(svc, `/topic/create?topic=${topic}`, "");
        await post(svc, `/channel/create?topic=${topic}&channel=c`, "");
        if (v.topic) await post(svc, `/topic/config?topic=${topic}`, JSON.stringify(v.topic));
        if (v.channel) await post(svc, `/channel/config?topic=${topic}&channel=c`, JSON.stringify(v.channel));
        const p = await publish(svc, topic, { secs, mode: "pub", keyed: v.keyed });
        const fill = await publish(svc, topic, { secs: 3600, mode: "mpub", limit: Math.max(0, N - p.msgs) });
        const c = await consume(svc, topic, "c", p.msgs + fill.msgs);
        (out[v.name] ??= { publish: [], consume: [] }).publish.push(p.rate);
        out[v.name]!.consume.push(c.rate);
      }
    }
    const mean = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
    };
    const base = out.none!;
    const summary = Object.entries(out).map(([name, r]) => ({
      name,
      publish_rate: round(mean(r.publish)),
      consume_rate: round(mean(r.consume)),
      publish_vs_none: round(mean(r.publish) / mean(base.publish)),
      consume_vs_none: round(mean(r.consume) / mean(base.consume)),
    }));
    // Dead-lettering itself: every message REQ'd once at max_attempts 1, until all are in <topic>.dead.
    await post(svc, "/topic/create?topic=bench-dl", "");
    await post(svc, "/channel/create?topic=bench-dl&channel=c", "");
    await post(svc, "/channel/config?topic=bench-dl&channel=c", '{"max_attempts":1}');
    await post(svc, "/topic/create?topic=bench-dl.dead", "");
    await post(svc, "/channel/create?topic=bench-dl.dead&channel=inspect", "");
    const dlN = 50_000;
    await publish(svc, "bench-dl", { secs: 3600, mode: "mpub", limit: dlN });
    const t0 = performance.now();
    // REQs of one WebSocket message together, as FINs in finningConsumer (a client library's way).
    let pending: Uint8Array[] = [];
    const reqs: Conn = await Conn.open(svc.dial, {
      message: (data) => {
        pending.push(cmd.req(new TextDecoder().decode(data.subarray(10, 26)), 0));
        if (pending.length === 1)
          queueMicrotask(() => {
            reqs.send(cmd.concatAll(pending));
            pending = [];
          });
      },
    });
    reqs.send(cmd.sub("bench-dl", "c"));
    reqs.send(cmd.rdy(RDY));
    for (;;) {
      const st = (await (await fetch(`${svc.url}/stats?format=json&topic=bench-dl.dead&include_clients=false`, { headers: { connection: "close" } })).json()) as { topics: { channels: { depth: number }[] }[] };
      if ((st.topics?.[0]?.channels[0]?.depth ?? 0) >= dlN) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const dlRate = dlN / ((performance.now() - t0) / 1000);
    reqs.close();
    results.features = { variants: summary, dead_letter_rate: round(dlRate) };
    for (const v of summary) {
      rows.push([
        `10. setting: ${v.name}`,
        `publish ${fmt(v.publish_rate)} msgs/s (${Math.round(v.publish_vs_none * 100)}% of none), consume ${fmt(v.consume_rate)} msgs/s (${Math.round(v.consume_vs_none * 100)}%)`,
      ]);
    }
    rows.push([`10. dead-lettering ${fmt(dlN)} messages (REQ at max_attempts 1 → in <topic>.dead)`, `${fmt(dlRate)} msgs/s`]);
  });
}
if (wanted("metrics")) {
  // One /metrics scrape of many topics × channels: each topic object is asked (32 at a time),
  // each asks its channels at once. Scrapes a second apart (none shares another's answer). Local
  // workerd gives all its objects' SQLite one heap of 512 MiB (sqlite3_hard_heap_limit64, raised
  // behind an autogate in workerd #6570): past about 1,500 objects awake at once, statements fail
  // with SQLITE_NOMEM. So 1,000 topics × 10 channels (11,000 objects) cannot be measured on one
  // machine, as it would not fail on Cloudflare (objects spread over machines): the sizes below
  // fit, and the cost per object they give scales it.
  const levels: Record<string, unknown>[] = [];
  for (const [topics, perTopic] of [[1000, 0], [100, 10]] as const) {
    await withService(async (svc) => {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < topics) {
            const t = `bench-m${next++}`;
            await post(svc, `/topic/create?topic=${t}`, "");
            for (let c = 0; c < perTopic; c++) await post(svc, `/channel/create?topic=${t}&channel=c${c}`, "");
            await post(svc, `/pub?topic=${t}`, "x");
          }
        }),
      );
      const setupSecs = round((performance.now() - t0) / 1000);
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 1100));
        const s0 = performance.now();
        const res = await fetch(`${svc.url}/metrics`, { headers: { connection: "close" } });
        const text = await res.text();
        if (!res.ok) throw new Error(`/metrics: ${res.status} ${text}`);
        bytes = text.length;
        times.push(performance.now() - s0);
      }
      const sorted = [...times].sort((a, b) => a - b);
      levels.push({ topics, channels: topics * perTopic, setup_secs: setupSecs, ms: times.map(round), bytes });
      rows.push([
        `11. /metrics scrape, ${fmt(topics)} topics × ${perTopic} channels (${fmt(topics * (perTopic + 1))} objects)`,
        `${fmt(sorted[2]!)} ms median of 5 (max ${fmt(sorted[4]!)} ms) = ${round((1000 * sorted[2]!) / (topics * (perTopic + 1)))} µs per object; ${fmt(bytes / 1024)} KiB`,
      ]);
    });
  }
  results.metrics_scrape = levels;
}
if (wanted("bridge")) {
  await withService(async (svc) => {
    // 1 and 2 again, as a TCP client sees them through `nsq-edge bridge`.
    const port = Number(opt.port) + 1;
    const bridge = spawn(
      process.execPath,
      ["bin/nsq-edge.mjs", "bridge", "--url", svc.url, "--tcp-address", `127.0.0.1:${port}`, "--lookupd-http-address", `127.0.0.1:${port + 1}`, "--no-http"],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      let out = "";
      bridge.stdout!.on("data", (d) => {
        out += d;
        if (out.includes(String(port))) resolve();
      });
      bridge.on("exit", (code) => reject(new Error(`bridge exited ${code}: ${out}`)));
    });
    try {
      svc.dial = `tcp://127.0.0.1:${port}`;
      await post(svc, "/topic/create?topic=bench-bridge", "");
      await post(svc, "/channel/create?topic=bench-bridge&channel=c", "");
      // CPU per message of each process on the way (2 cores: their sum bounds the rate here).
      const cpu = () => ({ ...svc.cpu(), bridge: cpuSecs(bridge.pid!) });
      const cpuP0 = cpu();
      const p = await publish(svc, "bench-bridge", { secs: DURATION, mode: "mpub" });
      const cpuP1 = cpu();
      const c = await consume(svc, "bench-bridge", "c", p.msgs);
      const cpuC1 = cpu();
      const publishCpu = cpuPer(cpuP0, cpuP1, p.msgs);
      const consumeCpu = cpuPer(cpuP1, cpuC1, c.msgs);
      results.bridge = { publish_mpub: { ...p, cpu_us_per_msg: publishCpu }, consume: { ...c, cpu_us_per_msg: consumeCpu } };
      rows.push([`6. bridge (TCP): publish MPUB ${BATCH}×${SIZE}B, ${W} publishers`, `${fmt(p.rate)} msgs/s, ${p.mbps.toFixed(1)} MB/s; CPU µs per message: ${cpuText(publishCpu)}`]);
      rows.push([`6. bridge (TCP): consume ${fmt(c.msgs)}, ${R} consumers, RDY ${RDY}`, `${fmt(c.rate)} msgs/s, ${c.mbps.toFixed(1)} MB/s; CPU µs per message: ${cpuText(consumeCpu)}`]);
    } finally {
      bridge.kill("SIGKILL");
    }
  });
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nnsq-edge benchmark — ${results.cores} cores (${results.cpu}), ${results.node}; consumers connect ${opt["consumer-url"] === "ws" ? "to /ws" : "with their channel named (/ws?topic&channel)"}\n`);
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
mkdirSync(path.join(root, "bench", "results"), { recursive: true });
const file = path.join(root, "bench", "results", `${new Date().toISOString().slice(0, 10)}.json`);
// A partial run (--only) updates its workloads in the day's file and keeps the others.
let previous: Record<string, unknown> = {};
if (only.size > 0) {
  try {
    previous = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // no file yet
  }
}
writeFileSync(file, JSON.stringify({ ...previous, ...results }, null, 2) + "\n");
console.log(`\n${path.relative(process.cwd(), file)}`);
process.exit(0);
