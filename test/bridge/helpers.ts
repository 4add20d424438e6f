// Helpers for the bridge tests: the nsq-edge command as a process (bin/nsq-edge.mjs, as `npx
// nsq-edge` runs it), the bridge on ports of its own choosing, nsqjs made awaitable, polling.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { expect } from "vitest";
import * as nsq from "nsqjs";
import { channelStats } from "../helpers/service";
import { eventually, sleep } from "../helpers/wait";

export const root = path.resolve(import.meta.dirname, "..", "..");
export const bin = path.join(root, "bin", "nsq-edge.mjs");

export { channelStats, serviceUrl, unique } from "../helpers/service";
export { eventually, sleep };

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `nsq-edge ARGS` to completion (stdin: `input`, or closed). */
export function cli(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NSQ_EDGE_URL: "", NSQ_EDGE_TOKEN: "", ...opts.env };
    for (const k of ["NSQ_EDGE_URL", "NSQ_EDGE_TOKEN"]) if (env[k] === "") delete env[k];
    const proc = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`nsq-edge ${args.join(" ")} did not finish in ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    proc.on("error", reject);
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    proc.stdin.on("error", () => {});
    proc.stdin.end(opts.input ?? "");
  });
}

/** A long-running `nsq-edge` process (tail, bridge, dev): its output so far, and a way to wait for a line. */
export class Proc {
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on("data", (d) => (this.stdout += d));
    proc.stderr!.on("data", (d) => (this.stderr += d));
    this.exited = new Promise((r) => proc.on("close", (code, signal) => r({ code, signal })));
  }

  static start(args: string[], env: Record<string, string> = {}): Proc {
    return new Proc(spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] }));
  }

  /** Waits until stdout matches `re` (or the process exits: then throws with its output). */
  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (exited || Date.now() > deadline)
        throw new Error(`${exited ? "exited" : "timed out"} before ${re}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await sleep(25);
    }
  }

  async stop(signal: NodeJS.Signals = "SIGTERM") {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/** `nsq-edge bridge` on ports the system picks; its addresses parsed from what it prints. */
export class Bridge extends Proc {
  tcpPort = 0;
  lookupdPort = 0;
  httpPort = 0;

  static async open(url: string, extra: string[] = []): Promise<Bridge> {
    const args = ["bridge", "--url", url, "--tcp-address", "127.0.0.1:0", "--lookupd-http-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", ...extra];
    const b = new Bridge(spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }));
    const tcp = await b.waitFor(/nsqd TCP\s+127\.0\.0\.1:(\d+)/);
    const lookupd = await b.waitFor(/nsqlookupd HTTP\s+127\.0\.0\.1:(\d+)/);
    const http = await b.waitFor(/nsqd HTTP\s+(?:127\.0\.0\.1:(\d+)|\S)/);
    b.tcpPort = Number(tcp[1]);
    b.lookupdPort = Number(lookupd[1]);
    b.httpPort = Number(http[1] ?? 0);
    return b;
  }

  get lookupd() {
    return `127.0.0.1:${this.lookupdPort}`;
  }
}

// ---- nsqjs, awaitable --------------------------------------------------------------------------

/** Closes what a test file opened (Writers, Readers), whatever state each is in. */
export function closeAll(opened: { close(): void }[]) {
  for (const x of opened.splice(0)) {
    try {
      x.close();
    } catch {
      // already closed
    }
  }
}

/** Runs `publish`; resolves with the body of the first message `r` gets (FINished). */
export async function firstMessage(r: nsq.Reader, publish: () => Promise<void>): Promise<string> {
  const got = new Promise<string>((resolve) => r.once("message", (m: nsq.Message) => (m.finish(), resolve(m.body.toString()))));
  await publish();
  return got;
}

export async function openWriter(port: number, options: nsq.ConnectionOptions = {}): Promise<nsq.Writer> {
  const w = new nsq.Writer("127.0.0.1", port, options);
  await new Promise<void>((resolve, reject) => {
    w.once("ready", () => resolve());
    w.once("error", reject);
    w.connect();
  });
  return w;
}

export function publish(w: nsq.Writer, topic: string, msgs: string | Buffer | (string | Buffer)[]): Promise<void> {
  return new Promise((resolve, reject) => w.publish(topic, msgs, (err) => (err ? reject(err) : resolve())));
}

/** A Reader that has connected (nsqd_connected) through the bridge. */
export async function openReader(topic: string, channel: string, options: nsq.ReaderOptions): Promise<nsq.Reader> {
  const r = new nsq.Reader(topic, channel, { lookupdPollInterval: 1, ...options });
  const connected = new Promise<void>((resolve) => r.once("nsqd_connected", () => resolve()));
  r.connect();
  await connected;
  return r;
}

/** Stats of a channel once it has `clients` subscribers (SUB done on the service). */
export async function waitForClients(base: string, topic: string, channel: string, clients: number) {
  await eventually(async () => expect((await channelStats(base, topic, channel))?.client_count).toBe(clients), 15_000);
}
