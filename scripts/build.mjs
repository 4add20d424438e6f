// Bundles the Worker (src/index.ts and its Durable Objects) into one ES module for workerd,
// the same way `wrangler deploy` does, so that Miniflare can serve it without wrangler's proxy.
import { build as esbuild } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const outfile = path.join(root, ".nsq-edge", "build", "worker.js");

export async function build() {
  await esbuild({
    entryPoints: [path.join(root, "src", "index.ts")],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*", "node:*"],
    sourcemap: "linked",
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
  console.log(path.relative(process.cwd(), outfile));
}
