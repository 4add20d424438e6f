// Bundles the Worker (src/index.ts and its Durable Objects) into one ES module for workerd,
// the same way `wrangler deploy` does, so that Miniflare can serve it without wrangler's proxy;
// and builds the admin UI into the Worker's assets directory (scripts/build-admin.mjs).
import { build as esbuild } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { rename } from "node:fs/promises";
import { buildAdmin } from "./build-admin.mjs";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const outfile = path.join(root, ".nsq-edge", "build", "worker.js");

export async function build() {
  // Build beside the bundle and rename over it: a service starting at the same moment never
  // loads a half-written file.
  const tmp = `${outfile}.${process.pid}.tmp.js`;
  const admin = buildAdmin();
  const worker = esbuild({
    entryPoints: [path.join(root, "src", "index.ts")],
    outfile: tmp,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*", "node:*"],
    logLevel: "warning",
  }).then(() => rename(tmp, outfile));
  await Promise.all([worker, admin]);
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
  console.log(path.relative(process.cwd(), outfile));
}
