#!/usr/bin/env node
// `npm start`: serves nsq-edge locally on workerd through Miniflare's API (measured faster than
// `wrangler dev`, whose proxy sits in front of workerd), with Durable Object state on disk so
// that a restart keeps every queue.
//
//   npm start -- --port 4151 --host 127.0.0.1 --data .nsq-edge/data
//   (or NSQ_EDGE_PORT, NSQ_EDGE_HOST, NSQ_EDGE_DATA)
//
// A mistake (a flag, a var, a busy port, a state directory another service holds) stops it with
// one line on standard error: exit 2 for bad usage, 1 for a failure at run time.
import { parseArgs } from "node:util";
import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, root } from "./build.mjs";
import { httpFront } from "./http-front.mjs";
import { loadConfig } from "./check-vars.mjs";
import { lockDataDir } from "./data-lock.mjs";

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** A mistake in the command line or the vars: one line, exit 2. */
class UsageError extends Error {}
/** A failure to start (port busy, state directory held): one line, exit 1. */
class StartError extends Error {}

/** Miniflare's options shared by all workers (host, port, persistence, ...), from its plugins' schemas. */
function sharedOptions(PLUGINS) {
  return new Set(
    Object.values(PLUGINS).flatMap((plugin) => {
      let schema = plugin.sharedOptions;
      while (schema && !schema.shape && typeof schema.innerType === "function") schema = schema.innerType();
      return schema?.shape ? Object.keys(schema.shape) : [];
    }),
  );
}
const ASSETS_WORKER = "nsq-edge-assets";

/**
 * Serves wrangler.toml's [assets] (the admin UI) from a worker of its own, which the Worker
 * reaches through its ASSETS binding, as it does on Cloudflare. Given `assets` directly,
 * Miniflare would put its assets router worker in front of every request (run_worker_first),
 * which cost the HTTP API about half its throughput here. The Worker stays unnamed, so Durable
 * Object state on disk keeps its place.
 */
function assetsApart({ assets, ...options }, SHARED_OPTIONS) {
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

const hostPort = (host, port) => `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** Fails with one line if host:port cannot be listened on (workerd's own failure is a fatal trace). */
async function checkListen(host, port, flag) {
  try {
    await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen({ host, port, exclusive: true }, () => srv.close(resolve));
    });
  } catch (e) {
    if (e.code === "EADDRINUSE") throw busy(host, port, flag);
    throw new StartError(`cannot listen on ${hostPort(host, port)}: ${e.code ?? e.message}${flag === "--port" ? " (check --host)" : ""}`);
  }
}

const busy = (host, port, flag) =>
  new StartError(`${hostPort(host, port)} is already in use: stop what listens there, or pass another ${flag} (e.g. ${flag} ${port === 65535 ? port - 1 : port + 1})`);

/**
 * Starts the service: the vars checked by src/config.ts's rules, the state directory locked
 * for this process (scripts/data-lock.mjs), the Worker built and served.
 */
export async function start({ port, host, data, vars = {}, inspectorPort, openUnlessConfigured = false }) {
  const [{ Miniflare, Log, LogLevel, PLUGINS }, { unstable_getMiniflareWorkerOptions }, { validateVars, parseVars }] = await Promise.all([
    import("miniflare"),
    import("wrangler"),
    loadConfig(),
  ]);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.toml"));
  // wrangler.toml alone first, so that a bad value there is not blamed on --var.
  const inToml = validateVars(workerOptions.bindings ?? {});
  if (inToml.length) throw new UsageError(`wrangler.toml [vars]: ${inToml.join("; ")}`);
  const bindings = { ...workerOptions.bindings, ...vars };
  // Local serving is open unless auth is configured (wrangler.toml, .dev.vars or --var), as nsqd
  // without --auth-http-address; an explicit AUTH (e.g. --var AUTH=on) is left as given.
  const openedByDefault = openUnlessConfigured && bindings.AUTH === undefined && parseVars(bindings).auth.mode === "unconfigured";
  if (openedByDefault) bindings.AUTH = "off";
  const problems = validateVars(bindings);
  if (problems.length) throw new UsageError(`--var ${problems.join("; ")}`);

  const lock = lockDataDir(data);
  let mf;
  try {
    await checkListen(host, Number(port), "--port");
    if (inspectorPort) await checkListen(host, Number(inspectorPort), "--inspect");
    const scriptPath = await build();
    mf = new Miniflare(assetsApart({
      ...workerOptions,
      bindings,
      modules: true,
      modulesRoot: path.dirname(scriptPath),
      scriptPath,
      durableObjectsPersist: path.resolve(data),
      // Requests reach the Worker straight from workerd's socket: Miniflare's entry worker (kept on
      // a spare port for its own use) would be one more hop per request.
      // (on a loopback port of its own: scripts/http-front.mjs listens on --port in front of it and
      // answers as nsqd what workerd's HTTP parser answers otherwise)
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      host,
      port: 0,
      cf: false,
      // For profiling: `--inspect PORT` exposes workerd's V8 inspector.
      ...(inspectorPort ? { inspectorPort: Number(inspectorPort) } : {}),
      log: new Log(LogLevel.WARN),
    }, sharedOptions(PLUGINS)));
    await mf.ready;
    const front = await httpFront({ host, port: Number(port), target: await mf.unsafeGetDirectURL() });
    const dispose = mf.dispose.bind(mf);
    mf.dispose = () => (front.close(), dispose());
  } catch (e) {
    await mf?.dispose().catch(() => {});
    lock.release();
    // Taken between the check and workerd's bind.
    if (e?.code === "ERR_ADDRESS_IN_USE" || e?.code === "EADDRINUSE") throw busy(host, Number(port), "--port");
    throw e;
  }
  // workerd holds the directory too: if this process is killed alone, workerd may live on.
  lock.recordWorkerd();
  const url = new URL(`http://${hostPort(host, port)}/`);
  return { mf, url, lock, auth: authLine(bindings, parseVars(bindings).auth.mode, openedByDefault) };
}

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  data: { type: "string" },
  var: { type: "string", multiple: true, default: [] },
  inspect: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/**
 * `npm start --port 5151` (without "--") gives the flag to npm, which sets npm_config_port=true
 * (or the value, for --port=5151) and passes 5151 on as an argument: say how to write it.
 */
function npmSwallowed(positionals) {
  const taken = Object.keys(OPTIONS).filter((name) => process.env[`npm_config_${name}`] !== undefined);
  if (!taken.length) return null;
  const flags = taken.map((name) => `--${name}`).join(", ");
  let use;
  if (taken.length === 1) {
    const [name] = taken;
    const value = process.env[`npm_config_${name}`];
    const given = value !== "true" && value !== "" ? value : positionals.length === 1 ? positionals[0] : name === "help" ? null : "VALUE";
    use = `npm start -- --${name}${given === null ? "" : ` ${given}`}`;
  } else {
    use = `npm start -- ${taken.map((name) => `--${name} ...`).join(" ")}`;
  }
  return `npm took ${flags} for itself: put the flags after "--", use: ${use}`;
}

/** A port from a flag or its environment variable: a whole number 1-65535. */
function portOf(text, what) {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    throw new UsageError(`${what} ${JSON.stringify(text)} is not a port (expected a number 1-65535, e.g. 4151)`);
  return Number(text);
}

/** Edit distance, for "did you mean" on a misspelt var name. */
function distance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

function parseVarFlags(flags, names) {
  const vars = {};
  for (const kv of flags) {
    const at = kv.indexOf("=");
    if (at < 1) throw new UsageError(`--var takes NAME=VALUE, not ${JSON.stringify(kv)} (e.g. --var MSG_TIMEOUT=5s)`);
    const name = kv.slice(0, at);
    if (!names.includes(name)) {
      const near = names.find((n) => distance(n, name.toUpperCase()) <= 2);
      throw new UsageError(`unknown --var ${name}${near ? ` (did you mean ${near}?)` : ""}: known are ${names.join(", ")}`);
    }
    vars[name] = kv.slice(at + 1);
  }
  return vars;
}

/** KEY=VALUE lines of a .dev.vars file (values may be quoted); {} without one. */
function readDevVars(file, names) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    if (/^(["']).*\1$/s.test(value)) value = value.slice(1, -1);
    if (!names.includes(m[1])) throw new UsageError(`.dev.vars: unknown var ${m[1]}: known are ${names.join(", ")}`);
    vars[m[1]] = value;
  }
  return vars;
}

/** What `npm start` says about auth in its first lines. */
function authLine(bindings, mode, openedByDefault) {
  if (mode === "on") {
    const sources = ["AUTH_TOKENS", "AUTH_HTTP_ADDRESS"].filter((n) => String(bindings[n] ?? "").trim() !== "");
    return `auth: on (${sources.join(" and ")}); clients need a token (Authorization: Bearer, or AUTH)`;
  }
  if (mode === "off")
    return openedByDefault
      ? 'auth: off (local development; configure AUTH_TOKENS or AUTH_HTTP_ADDRESS to turn it on, see README "Access control")'
      : "auth: off (AUTH=off)";
  return "auth: on but not configured: every path but /ping and /info answers 401, as a deploy without AUTH_TOKENS or AUTH_HTTP_ADDRESS does";
}

const FLAGS = Object.keys(OPTIONS).map((name) => `--${name}`).join(", ");

const HELP = `usage: npm start -- [--port 4151] [--host 127.0.0.1] [--data DIR] [--var NAME=VALUE ...]

Serves nsq-edge on workerd. --var overrides a [vars] limit of wrangler.toml, e.g. --var MSG_TIMEOUT=5s,
or sets auth's (AUTH_TOKENS, AUTH_HTTP_ADDRESS; .dev.vars is read too). Without them it is open.
One service per --data directory: a second one on the same directory refuses to start.`;

async function main() {
  let parsed;
  try {
    parsed = parseArgs({ options: OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    const swallowed = npmSwallowed([]);
    if (swallowed) throw new UsageError(swallowed);
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = /'([^']*)'/.exec(e.message)?.[1] ?? "";
      throw new UsageError(`unknown flag ${flag} (flags are ${FLAGS}; see npm start -- --help)`);
    }
    throw new UsageError(e.message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  const { values: args, positionals } = parsed;
  const swallowed = npmSwallowed(positionals);
  if (swallowed) throw new UsageError(swallowed);
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (flags are ${FLAGS}; see npm start -- --help)`);
  if (args.help) {
    console.log(HELP);
    return 0;
  }

  const port = args.port !== undefined ? portOf(args.port, "--port") : portOf(process.env.NSQ_EDGE_PORT || "4151", "NSQ_EDGE_PORT");
  const inspectorPort = args.inspect !== undefined ? portOf(args.inspect, "--inspect") : undefined;
  const host = args.host ?? (process.env.NSQ_EDGE_HOST || undefined) ?? "127.0.0.1";
  if (host === "") throw new UsageError("--host must not be empty (e.g. --host 127.0.0.1)");
  const data = args.data ?? (process.env.NSQ_EDGE_DATA || undefined) ?? path.join(root, ".nsq-edge", "data");
  if (data === "") throw new UsageError("--data must not be empty (e.g. --data .nsq-edge/data)");
  const { KNOWN_VARS } = await loadConfig();
  // .dev.vars first (wrangler's local secrets file, never committed), then --var over it.
  const vars = { ...readDevVars(path.join(root, ".dev.vars"), KNOWN_VARS), ...parseVarFlags(args.var, KNOWN_VARS) };
  const { mf, url, lock, auth } = await start({ port, host, data, vars, inspectorPort, openUnlessConfigured: true });
  console.log(`nsq-edge listening on ${url.href.replace(/\/$/, "")} (HTTP API; V2 protocol over WebSocket at /ws; admin UI at /admin/)\n${auth}`);
  console.log(`state in ${path.relative(process.cwd(), path.resolve(data)) || "."}`);

  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      await mf.dispose();
      lock.release();
      process.exit(0);
    });
  }
  return null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const oneLine = (e) => String(e instanceof Error ? e.message : e).replace(/\s*\n\s*/g, " ");
  try {
    const code = await main();
    if (code !== null) process.exit(code);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`nsq-edge: ${oneLine(e)}`);
      process.exit(EXIT_USAGE);
    }
    if (e instanceof StartError || e?.name === "LockHeldError") {
      console.error(`nsq-edge: ${oneLine(e)}`);
      process.exit(EXIT_FAILURE);
    }
    console.error(`nsq-edge: cannot start: ${oneLine(e)}`);
    if (process.env.NSQ_EDGE_DEBUG) console.error(e);
    process.exit(EXIT_FAILURE);
  }
}
