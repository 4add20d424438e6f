// The library as a package consumer gets it: `nsq-edge/client` through package.json "exports",
// loaded by plain Node (on Node 20 through the `ws` package: no global WebSocket there), and
// typed through its .d.ts files under Node's own module resolution (NodeNext).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { serviceUrl, unique } from "./helpers";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..", "..");

it("`import ... from \"nsq-edge/client\"` works in plain Node: publish and consume", async () => {
  const topic = unique("pkg");
  const script = `
    import { Producer, Consumer } from "nsq-edge/client";
    const url = process.argv[1], topic = process.argv[2];
    const producer = new Producer(url);
    await producer.mpublish(topic, ["one", "two", "three"]);
    await producer.close();
    const consumer = new Consumer(topic, "node", { url, maxInFlight: 3 });
    const got = [];
    for await (const msg of consumer) {
      got.push(msg.text());
      if (got.length === 3) { msg.finish(); break; }
    }
    console.log(JSON.stringify({ got: got.sort(), globalWebSocket: typeof WebSocket }));
  `;
  // Run from the package root: Node resolves "nsq-edge/client" as a self-reference via "exports".
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, serviceUrl(), topic], { cwd: root, timeout: 30_000 });
  const out = JSON.parse(stdout.trim());
  expect(out.got).toEqual(["one", "three", "two"]);
  if (Number(process.versions.node.split(".")[0]) < 22) expect(out.globalWebSocket).toBe("undefined"); // so `ws` did it
});

it("the .d.ts files type-check under NodeNext resolution and catch misuse", async () => {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  expect(pkg.exports["./client"]).toEqual({ types: "./dist/client/index.d.ts", default: "./dist/client/index.js" });
  expect(pkg.dependencies.ws).toBeDefined();
  const dir = mkdtempSync(path.join(tmpdir(), "nsq-edge-types-"));
  try {
    // A consumer project: its node_modules/nsq-edge is this package.
    const { symlinkSync, mkdirSync } = await import("node:fs");
    mkdirSync(path.join(dir, "node_modules"));
    symlinkSync(root, path.join(dir, "node_modules", "nsq-edge"), "dir");
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      path.join(dir, "good.ts"),
      `import { Producer, Consumer, NsqError, type Message } from "nsq-edge/client";
       const p = new Producer("https://nsq.example.com", { dialTimeout: 1000 });
       const done: Promise<void> = p.publish("t", new Uint8Array([1]));
       void done.catch((e: unknown) => { if (e instanceof NsqError) console.log(e.code.toLowerCase()); });
       const c = new Consumer("t", "c", { url: "https://nsq.example.com", maxInFlight: 10, maxAttempts: 3 });
       c.on("message", async (m: Message) => { const n: number = m.attempts; m.touch(); return n; });
       c.on("discard", (m) => console.log(m.id));
       export async function loop() { for await (const m of c) { const s: string = m.text(); m.requeue(1000, false); return s; } }
      `,
    );
    writeFileSync(path.join(dir, "bad.ts"), `import { Consumer } from "nsq-edge/client";\nnew Consumer("t", "c", { maxInFlite: 10 });\n`);
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
    // No skipLibCheck: the library's own .d.ts files are checked too (NodeNext wants ".js" in them).
    const options = { noEmit: true, strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], types: [] };
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["good.ts"] }));
    writeFileSync(path.join(dir, "tsconfig.bad.json"), JSON.stringify({ compilerOptions: options, files: ["bad.ts"] }));
    await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: dir, timeout: 60_000 }).catch((e) => {
      throw new Error(`good.ts does not type-check:\n${e.stdout}`);
    });
    const bad = await run(process.execPath, [tsc, "-p", "tsconfig.bad.json"], { cwd: dir, timeout: 60_000 }).then(
      () => "",
      (e) => String(e.stdout),
    );
    expect(bad).toContain("maxInFlite");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
