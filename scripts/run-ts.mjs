// Runs a TypeScript entry point on Node 20 (which cannot strip types): bundles it with esbuild,
// dependencies left external, into .nsq-edge/run/, then imports it with the same argv.
import { build } from "esbuild";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./build.mjs";

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs FILE.ts [args...]");
  process.exit(2);
}
const outfile = path.join(root, ".nsq-edge", "run", `${path.basename(entry, ".ts")}.${process.pid}.mjs`);
await build({
  entryPoints: [path.resolve(entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
process.argv = [process.argv[0], path.resolve(entry), ...rest];
await import(pathToFileURL(outfile).href);
