// Builds the `nsq-edge` command (cli/*.ts and the client library it uses) into one ES module,
// dist/cli/nsq-edge.mjs, for Node 20 (which cannot run TypeScript). Packages stay external (ws).
// bin/nsq-edge.mjs runs this when the bundle is missing or older than its sources.
import { build as esbuild } from "esbuild";
import { readdirSync, statSync } from "node:fs";
import { rename } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const outfile = path.join(root, "dist", "cli", "nsq-edge.mjs");
/** What the bundle is made of: a change to any file under these makes it stale. */
export const sources = ["cli", "client/src", "src/protocol", "src/auth", "package.json"].map((p) => path.join(root, p));

/** The newest modification time of the sources, in ms. */
export function sourcesMtime() {
  let newest = 0;
  const visit = (p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(path.join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const s of sources) visit(s);
  return newest;
}

export async function build() {
  // Build beside the bundle and rename over it: a command starting at the same moment never
  // loads a half-written file.
  const tmp = `${outfile}.${process.pid}.tmp.mjs`;
  await esbuild({
    entryPoints: [path.join(root, "cli", "main.ts")],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
    banner: { js: "// Built by scripts/build-cli.mjs from cli/*.ts: edit those, not this file." },
  });
  await rename(tmp, outfile);
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build();
  console.log(path.relative(process.cwd(), outfile));
}
