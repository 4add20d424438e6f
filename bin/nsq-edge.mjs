#!/usr/bin/env node
// The `nsq-edge` command (package.json "bin"). Node 20 cannot run TypeScript, so the command is
// cli/*.ts bundled into dist/cli/nsq-edge.mjs (`npm run build:cli`, which `npm test` runs).
// In a checkout the bundle is (re)built here when it is missing or older than its sources, so
// `npx nsq-edge` works right after `npm ci` and always runs the current code.
import { existsSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const bundle = fileURLToPath(new URL("../dist/cli/nsq-edge.mjs", import.meta.url));
const builder = new URL("../scripts/build-cli.mjs", import.meta.url);

async function ensureBuilt() {
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  if (!existsSync(fileURLToPath(builder))) return built > 0; // an installed copy: no sources
  let cli;
  try {
    cli = await import(builder.href); // needs esbuild (a devDependency)
  } catch (e) {
    if (built > 0) return true;
    console.error(`nsq-edge: the command is not built and cannot be (${e?.message ?? e}); run npm ci, then npm run build:cli`);
    return false;
  }
  if (built >= cli.sourcesMtime()) return true;
  try {
    await cli.build();
    return true;
  } catch (e) {
    console.error(`nsq-edge: building the command failed: ${e?.message ?? e}`);
    return false;
  }
}

if (!(await ensureBuilt())) process.exit(1);
await import(pathToFileURL(bundle).href);
