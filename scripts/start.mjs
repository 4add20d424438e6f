#!/usr/bin/env node
// `npm start`: serves nsq-edge locally on workerd through Miniflare's API (measured faster than
// `wrangler dev`, whose proxy sits in front of workerd), with Durable Object state on disk so
// that a restart keeps every queue.
//
//   npm start -- --port 4151 --host 127.0.0.1 --data .nsq-edge/data
//   (or NSQ_EDGE_PORT, NSQ_EDGE_HOST, NSQ_EDGE_DATA)
import { parseArgs } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, Log, LogLevel } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { build, root } from "./build.mjs";

export async function start({ port, host, data, vars = {} }) {
  const scriptPath = await build();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.toml"));
  const mf = new Miniflare({
    ...workerOptions,
    bindings: { ...workerOptions.bindings, ...vars },
    modules: true,
    modulesRoot: path.dirname(scriptPath),
    scriptPath,
    durableObjectsPersist: path.resolve(data),
    host,
    port: Number(port),
    cf: false,
    log: new Log(LogLevel.WARN),
  });
  const url = await mf.ready;
  return { mf, url };
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      port: { type: "string", default: process.env.NSQ_EDGE_PORT ?? "4151" },
      host: { type: "string", default: process.env.NSQ_EDGE_HOST ?? "127.0.0.1" },
      data: { type: "string", default: process.env.NSQ_EDGE_DATA ?? path.join(root, ".nsq-edge", "data") },
      var: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h" },
    },
  });

  if (args.help) {
    console.log(`usage: npm start -- [--port 4151] [--host 127.0.0.1] [--data DIR] [--var NAME=VALUE ...]

Serves nsq-edge on workerd. --var overrides a [vars] limit of wrangler.toml, e.g. --var MSG_TIMEOUT=5s.`);
    process.exit(0);
  }

  const vars = Object.fromEntries(
    args.var.map((kv) => {
      const at = kv.indexOf("=");
      if (at < 1) throw new Error(`--var takes NAME=VALUE, not ${kv}`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );
  const { mf, url } = await start({ ...args, vars });
  console.log(`nsq-edge listening on ${url.href.replace(/\/$/, "")} (HTTP API; V2 protocol over WebSocket at /ws)`);
  console.log(`state in ${path.relative(process.cwd(), path.resolve(args.data)) || "."}`);

  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      await mf.dispose();
      process.exit(0);
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
