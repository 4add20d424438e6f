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
import { Miniflare, Log, LogLevel, PLUGINS } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { build, root } from "./build.mjs";

/** Miniflare's options shared by all workers (host, port, persistence, ...), from its plugins' schemas. */
const SHARED_OPTIONS = new Set(
  Object.values(PLUGINS).flatMap((plugin) => {
    let schema = plugin.sharedOptions;
    while (schema && !schema.shape && typeof schema.innerType === "function") schema = schema.innerType();
    return schema?.shape ? Object.keys(schema.shape) : [];
  }),
);
const ASSETS_WORKER = "nsq-edge-assets";

/**
 * Serves wrangler.toml's [assets] (the admin UI) from a worker of its own, which the Worker
 * reaches through its ASSETS binding, as it does on Cloudflare. Given `assets` directly,
 * Miniflare would put its assets router worker in front of every request (run_worker_first),
 * which cost the HTTP API about half its throughput here. The Worker stays unnamed, so Durable
 * Object state on disk keeps its place.
 */
function assetsApart({ assets, ...options }) {
  if (!assets) return options;
  if (!SHARED_OPTIONS.has("port")) throw new Error("cannot tell Miniflare's shared options from its plugins");
  const shared = {};
  const worker = {};
  for (const [key, value] of Object.entries(options)) (SHARED_OPTIONS.has(key) ? shared : worker)[key] = value;
  return {
    ...shared,
    workers: [
      { ...worker, serviceBindings: { ...worker.serviceBindings, [assets.binding]: ASSETS_WORKER } },
      {
        name: ASSETS_WORKER,
        compatibilityDate: worker.compatibilityDate,
        modules: true,
        script: "export default { fetch: () => new Response(null, { status: 404 }) };",
        assets: { ...assets, routerConfig: { has_user_worker: false } },
      },
    ],
  };
}

export async function start({ port, host, data, vars = {}, inspectorPort }) {
  const scriptPath = await build();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.toml"));
  const mf = new Miniflare(assetsApart({
    ...workerOptions,
    bindings: { ...workerOptions.bindings, ...vars },
    modules: true,
    modulesRoot: path.dirname(scriptPath),
    scriptPath,
    durableObjectsPersist: path.resolve(data),
    // Requests reach the Worker straight from workerd's socket: Miniflare's entry worker (kept on
    // a spare port for its own use) would be one more hop per request.
    unsafeDirectSockets: [{ host, port: Number(port) }],
    host,
    port: 0,
    cf: false,
    // For profiling: `--inspect PORT` exposes workerd's V8 inspector.
    ...(inspectorPort ? { inspectorPort: Number(inspectorPort) } : {}),
    log: new Log(LogLevel.WARN),
  }));
  await mf.ready;
  const url = new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}/`);
  return { mf, url };
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      port: { type: "string", default: process.env.NSQ_EDGE_PORT ?? "4151" },
      host: { type: "string", default: process.env.NSQ_EDGE_HOST ?? "127.0.0.1" },
      data: { type: "string", default: process.env.NSQ_EDGE_DATA ?? path.join(root, ".nsq-edge", "data") },
      var: { type: "string", multiple: true, default: [] },
      inspect: { type: "string" },
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
  const { mf, url } = await start({ ...args, vars, inspectorPort: args.inspect });
  console.log(`nsq-edge listening on ${url.href.replace(/\/$/, "")} (HTTP API; V2 protocol over WebSocket at /ws; admin UI at /admin/)`);
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
