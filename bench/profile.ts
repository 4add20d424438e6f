// Records a CPU profile of workerd's worker isolate (every object runs there) while a benchmark
// runs, and prints the functions with the most self time.
//   npm run bench -- --only fanout --inspect 9229 &
//   node scripts/run-ts.mjs bench/profile.ts --port 9229 --wait 8 --secs 5
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: opt } = parseArgs({
  options: {
    port: { type: "string", default: "9229" },
    wait: { type: "string", default: "0" },
    secs: { type: "string", default: "5" },
    out: { type: "string", default: "workerd.cpuprofile" },
    top: { type: "string", default: "40" },
    interval: { type: "string", default: "100" }, // µs between samples
  },
});

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await sleep(Number(opt.wait) * 1000);
const ws = new WebSocket(`ws://127.0.0.1:${opt.port}/core:user:`);
await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
let next = 0;
const pending = new Map<number, (result: any) => void>();
ws.on("close", () => console.error("inspector closed"));
ws.on("message", (data) => {
  const msg = JSON.parse(String(data));
  pending.get(msg.id)?.(msg.result);
});
const call = (method: string, params = {}) =>
  new Promise<any>((resolve) => {
    const id = ++next;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });

await call("Profiler.enable");
console.error("profiling");
await call("Profiler.setSamplingInterval", { interval: Number(opt.interval) });
await call("Profiler.start");
await sleep(Number(opt.secs) * 1000);
const { profile } = await call("Profiler.stop");
ws.close();
writeFileSync(opt.out, JSON.stringify(profile));

// workerd leaves hitCount at 0: count the samples instead.
const byId = new Map<number, Node>((profile.nodes as Node[]).map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
for (const id of profile.samples as number[]) {
  const f = byId.get(id)!.callFrame;
  const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + 1);
  total++;
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(opt.top));
for (const [key, hits] of rows) console.log(`${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`);
console.log(`profile: ${opt.out} (${total} samples)`);
