// Builds the admin UI (admin/src) into admin/dist/admin/: index.html, app.js (esbuild, one
// minified ES module), app.css. admin/dist is the Worker's [assets] directory (wrangler.toml),
// served under /admin by the Worker. Run by `npm start`, `npm test` and wrangler's [build], which
// also checks wrangler.toml's [vars] (scripts/check-vars.mjs).
import { build as esbuild, transform } from "esbuild";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = path.join(root, "admin", "src");
export const adminDist = path.join(root, "admin", "dist");
const out = path.join(adminDist, "admin");
const tmpDir = path.join(root, ".nsq-edge", "build");

/**
 * Writes a file only if its contents change, through a temporary file outside the assets
 * directory renamed over it: a service starting meanwhile (Miniflare lists the directory) never
 * sees half a file or a temporary one.
 */
async function writeAtomic(file, contents) {
  const old = await readFile(file, "utf8").catch(() => null);
  if (old === contents) return;
  const tmp = path.join(tmpDir, `admin-${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

const hash = (s) => createHash("sha256").update(s).digest("hex").slice(0, 10);

export async function buildAdmin() {
  const [js, css, html] = await Promise.all([
    esbuild({
      entryPoints: [path.join(src, "main.ts")],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      write: false,
      legalComments: "none",
      logLevel: "warning",
    }).then((r) => r.outputFiles[0].text),
    readFile(path.join(src, "app.css"), "utf8").then((text) => transform(text, { loader: "css", minify: true }).then((r) => r.code)),
    readFile(path.join(src, "index.html"), "utf8"),
  ]);
  await Promise.all([mkdir(out, { recursive: true }), mkdir(tmpDir, { recursive: true })]);
  const page = html.replace("__JS_HASH__", hash(js)).replace("__CSS_HASH__", hash(css));
  await Promise.all([
    writeAtomic(path.join(out, "app.js"), js),
    writeAtomic(path.join(out, "app.css"), css),
    writeAtomic(path.join(out, "index.html"), page),
  ]);
  return { js: Buffer.byteLength(js), css: Buffer.byteLength(css), html: Buffer.byteLength(page) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // As wrangler's [build] command this runs before every `wrangler deploy`: a bad [vars] value
  // fails the deploy here instead of answering every request with a 500 once deployed.
  const { checkWranglerVars } = await import("./check-vars.mjs");
  const [problems, sizes] = await Promise.all([checkWranglerVars(), buildAdmin()]);
  if (problems.length) {
    for (const p of problems) console.error(p);
    process.exit(1);
  }
  console.log(`admin/dist/admin: app.js ${sizes.js} B, app.css ${sizes.css} B, index.html ${sizes.html} B`);
}
