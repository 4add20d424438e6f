// `nsq-edge dev`: the local service, as `npm start` runs it (scripts/start.mjs: the Worker built
// with esbuild, served by workerd through Miniflare, state kept in .nsq-edge/data).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CommandError } from "./common.js";

export const help = `usage: nsq-edge dev [--port 4151] [--host 127.0.0.1] [--data DIR] [--var NAME=VALUE ...]

Starts the nsq-edge service locally, the same as \`npm start\`: the nsqd HTTP API and the V2
protocol over WebSocket (/ws) at http://127.0.0.1:4151, state kept in .nsq-edge/data. Then run
\`nsq-edge bridge\` for TCP clients. Stop with Ctrl-C.

options:
  --port N          listen port (default 4151, or $NSQ_EDGE_PORT)
  --host H          listen address (default 127.0.0.1, or $NSQ_EDGE_HOST)
  --data DIR        Durable Object state (default .nsq-edge/data, or $NSQ_EDGE_DATA)
  --var NAME=VALUE  overrides a [vars] setting of wrangler.toml, e.g. --var MSG_TIMEOUT=5s
  -h, --help        this help`;

/** The package root: dist/cli/nsq-edge.mjs is two levels below it. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(help);
    return 0;
  }
  const script = path.join(root, "scripts", "start.mjs");
  if (!existsSync(script)) throw new CommandError(`the local service needs the nsq-edge repository (no ${path.relative(process.cwd(), script)})`);
  // In the caller's directory, so that a relative --data means what it says.
  const child = spawn(process.execPath, [script, ...args], { stdio: "inherit" });
  // Ctrl-C reaches the child through the terminal's process group; a SIGTERM to us is passed on.
  const forward = (s: NodeJS.Signals) => child.kill(s);
  process.on("SIGINT", () => {});
  process.on("SIGTERM", forward);
  return new Promise((resolve, reject) => {
    child.on("error", (e) => reject(new CommandError(`cannot start the service: ${e.message}`)));
    child.on("exit", (code, signal) => resolve(code ?? (signal === "SIGINT" || signal === "SIGTERM" ? 0 : 1)));
  });
}
