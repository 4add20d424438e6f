// The library as a user gets it: `npm pack` of client/ (its prepack builds it), the tarball
// installed into a fresh project with `npm install`, then producer and consumer as separate
// `node` processes, the .d.ts under Node's own module resolution (NodeNext), and the README's
// Node snippet copied into that project and run as is (and its Worker snippet type-checked there).
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readmeSnippet } from "../helpers/readme";
import { channelStats, eventually, serviceUrl, unique } from "./helpers";

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..", "..");
const pkgDir = path.join(root, "client");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

// Under `npm test`, npm's own variables (npm_config_local_prefix=<repo>, npm_package_*) are in
// the environment: a child npm would take the repo for its project. The app must stand alone.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
const run = (cmd: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}, timeout = 120_000) =>
  execFileP(cmd, args, { cwd, env: { ...cleanEnv, ...env }, timeout, maxBuffer: 16 << 20 });

let tmp = "";
let app = ""; // the fresh project the tarball is installed into
let packed: { filename: string; files: { path: string }[] };

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), "nsq-edge-pkg-"));
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", tmp], pkgDir);
  // --json output follows the prepack build's own output: the JSON is the last top-level array.
  packed = JSON.parse(stdout.slice(stdout.lastIndexOf("\n[") + 1))[0];
  app = path.join(tmp, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", path.join(tmp, packed.filename)], app);
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

it("the tarball holds the built client and protocol modules with their .d.ts, and nothing else", () => {
  const files = packed.files.map((f) => f.path).sort();
  expect(files).toContain("dist/client/index.js");
  expect(files).toContain("dist/client/index.d.ts");
  expect(files).toContain("dist/protocol/frames.js"); // self-contained: the codecs the client imports
  expect(files).toContain("dist/protocol/frames.d.ts");
  expect(files.filter((f) => !/^dist\/(client|protocol)\/[\w-]+\.(js|d\.ts)$/.test(f))).toEqual(["README.md", "package.json"]);
  // Every relative import in the built modules is a file in the tarball (Node ESM needs the ".js").
  const dist = path.join(app, "node_modules", "@nsq-edge", "client");
  for (const f of files.filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))) {
    const text = readFileSync(path.join(dist, f), "utf8");
    for (const [, spec] of text.matchAll(/from "(\.[^"]+)"/g)) {
      expect(files, `${f} imports ${spec}`).toContain(path.posix.join(path.posix.dirname(f), spec.replace(/\.js$/, f.endsWith(".d.ts") ? ".d.ts" : ".js")));
    }
  }
  const pkg = JSON.parse(readFileSync(path.join(dist, "package.json"), "utf8"));
  expect(pkg).toMatchObject({ name: "@nsq-edge/client", type: "module", engines: { node: ">=20" } });
  expect(pkg.dependencies.ws).toBeDefined();
  expect(existsSync(path.join(app, "node_modules", "ws", "package.json"))).toBe(true); // installed with it
});

it("a producer and a consumer, separate node processes in the fresh project, exchange JSON messages", async () => {
  const topic = unique("pkg");
  writeFileSync(
    path.join(app, "consumer.js"),
    `import { Consumer } from "@nsq-edge/client";
     const [url, topic, n] = process.argv.slice(2);
     // The topic does not exist yet: the consumer keeps asking /lookup until it does.
     const consumer = new Consumer(topic, "app", { url, maxInFlight: 10, lookupdPollInterval: 200 });
     console.log("started");
     const got = [];
     for await (const msg of consumer) {
       got.push(msg.json().i);
       if (got.length === Number(n)) { msg.finish(); break; }
     }
     console.log(JSON.stringify({ got: got.sort((a, b) => a - b), globalWebSocket: typeof WebSocket }));
    `,
  );
  writeFileSync(
    path.join(app, "producer.js"),
    `import { Producer } from "@nsq-edge/client";
     const [url, topic, n] = process.argv.slice(2);
     const producer = new Producer(url);
     const bodies = Array.from({ length: Number(n) }, (_, i) => JSON.stringify({ i }));
     await Promise.all([producer.publish(topic, bodies[0]), producer.mpublish(topic, bodies.slice(1))]);
     await producer.close();
     console.log("published");
    `,
  );
  const args = [serviceUrl(), topic, "20"];
  const consumer = spawn(process.execPath, ["consumer.js", ...args], { cwd: app, env: cleanEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  consumer.stdout.on("data", (d) => (out += d));
  consumer.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => consumer.on("exit", resolve));
  try {
    await eventually(() => expect(out, err).toContain("started"), 30_000);
    const producer = await run(process.execPath, ["producer.js", ...args], app, {}, 30_000);
    expect(producer.stdout.trim()).toBe("published");
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 30_000))]);
    expect(code, err).toBe(0); // and it exited by itself: nothing left open after the loop
  } finally {
    consumer.kill();
  }
  const result = JSON.parse(out.trim().split("\n").at(-1)!);
  expect(result.got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  if (Number(process.versions.node.split(".")[0]) < 22) expect(result.globalWebSocket).toBe("undefined"); // so `ws` did it
  expect(await channelStats(serviceUrl(), topic, "app")).toMatchObject({ depth: 0, in_flight_count: 0 });
});

it("the installed .d.ts files type-check under NodeNext resolution and catch misuse", async () => {
  writeFileSync(
    path.join(app, "good.ts"),
    `import { Producer, Consumer, NsqError, type Message } from "@nsq-edge/client";
     const p = new Producer("https://nsq.example.com", { dialTimeout: 1000 });
     const done: Promise<void> = p.publish("t", new Uint8Array([1]));
     void done.catch((e: unknown) => { if (e instanceof NsqError) console.log(e.code.toLowerCase()); });
     const c = new Consumer("t", "c", { url: "https://nsq.example.com", maxInFlight: 10, maxAttempts: 3 });
     c.on("message", async (m: Message) => { const n: number = m.attempts; m.touch(); return n; });
     c.on("discard", (m) => console.log(m.id));
     export async function loop() { for await (const m of c) { const s: string = m.text(); m.requeue(1000, false); return s; } }
    `,
  );
  writeFileSync(path.join(app, "bad.ts"), `import { Consumer } from "@nsq-edge/client";\nnew Consumer("t", "c", { maxInFlite: 10 });\n`);
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  // No skipLibCheck: the package's own .d.ts files are checked too (NodeNext wants ".js" in them).
  const options = { noEmit: true, strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], types: [] };
  writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["good.ts"] }));
  writeFileSync(path.join(app, "tsconfig.bad.json"), JSON.stringify({ compilerOptions: options, files: ["bad.ts"] }));
  await run(process.execPath, [tsc, "-p", "tsconfig.json"], app).catch((e) => {
    throw new Error(`good.ts does not type-check:\n${e.stdout}`);
  });
  const bad = await run(process.execPath, [tsc, "-p", "tsconfig.bad.json"], app).then(
    () => "",
    (e) => String(e.stdout),
  );
  expect(bad).toContain("maxInFlite");
});

it("the README's Node snippet, copied as is into the fresh project, publishes, consumes JSON and exits", async () => {
  writeFileSync(path.join(app, "readme-node.js"), readmeSnippet("client-node"));
  const { stdout, stderr } = await run(process.execPath, ["readme-node.js"], app, { NSQ_EDGE_URL: serviceUrl() }, 30_000);
  expect(stderr).toBe("");
  const ids = stdout.trim().split("\n").map((line) => Number(/^order (\d+) attempt 1$/.exec(line)?.[1]));
  expect(ids.sort()).toEqual([1, 2, 3, 4]);
  expect(await channelStats(serviceUrl(), "orders", "billing")).toMatchObject({ depth: 0, in_flight_count: 0 });
});

it("the README's Worker snippet type-checks against the installed package and Workers' types", async () => {
  // It runs inside workerd in test/workers/readme-client-worker.test.ts; here its types meet the
  // package's .d.ts as a Worker project sees them: workers-types, no DOM, NodeNext resolution.
  const workersTypes = path.join(root, "node_modules", "@cloudflare", "workers-types", "index.d.ts");
  writeFileSync(path.join(app, "worker.ts"), readmeSnippet("client-worker"));
  // `Env` as `wrangler types` writes it for a service binding named NSQ.
  writeFileSync(path.join(app, "env.d.ts"), `/// <reference path=${JSON.stringify(workersTypes)} />\ninterface Env { NSQ: Fetcher }\n`);
  const options = { noEmit: true, strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022"], types: [] };
  writeFileSync(path.join(app, "tsconfig.worker.json"), JSON.stringify({ compilerOptions: options, files: ["env.d.ts", "worker.ts"] }));
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", "tsconfig.worker.json"], app).catch((e) => {
    throw new Error(`the README's Worker snippet does not type-check:\n${e.stdout}`);
  });
});
