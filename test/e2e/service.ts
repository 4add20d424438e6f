// Starts the service as `npm start` does, on a free port and a fresh state directory.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { TestClient } from "../helpers/v2client";

const root = path.resolve(import.meta.dirname, "..", "..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export class Service {
  proc: ChildProcess | null = null;
  url = "";
  /** Everything the service printed (stdout and stderr) since its last start. */
  output = "";
  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly vars: Record<string, string> = {},
  ) {}

  static async create(vars: Record<string, string> = {}): Promise<Service> {
    const svc = new Service(await freePort(), mkdtempSync(path.join(tmpdir(), "nsq-edge-")), vars);
    await svc.start();
    return svc;
  }

  /** Starts `node scripts/start.mjs` in its own process group (so a kill reaches workerd too). */
  async start() {
    const args = ["scripts/start.mjs", "--port", String(this.port), "--data", this.dataDir];
    for (const [k, v] of Object.entries(this.vars)) args.push("--var", `${k}=${v}`);
    const proc = spawn(process.execPath, args, { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    this.output = "";
    proc.stderr!.on("data", (d) => (this.output += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`service did not start:\n${this.output}`)), 60_000);
      proc.stdout!.on("data", (d) => {
        this.output += d;
        if (this.output.includes("listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on("exit", (code) => reject(new Error(`service exited (${code}):\n${this.output}`)));
    });
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** SIGKILL to the whole process group: node and workerd die with no chance to flush. */
  async kill() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    process.kill(-proc.pid!, "SIGKILL");
    await exited;
    this.proc = null;
  }

  async stop() {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  fetch(pathAndQuery: string, init?: RequestInit) {
    return fetch(this.url + pathAndQuery, init);
  }

  /** A V2 connection to /ws; `headers` go on the upgrade (e.g. Authorization). */
  /** A V2 connection; `query` (e.g. "?topic=T&channel=C": the channel's object serves it) goes on /ws. */
  async connect(headers: Record<string, string> = {}, query = ""): Promise<TestClient> {
    const ws = new WebSocket(this.url.replace("http", "ws") + "/ws" + query, { headers });
    ws.binaryType = "arraybuffer";
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return new TestClient(ws as never);
  }
}
