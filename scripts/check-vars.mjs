// The rules for wrangler.toml's [vars] live in src/config.ts, the Worker's own parser; this loads
// them into Node (through esbuild: Node 20 cannot strip types), so that `npm start` and the
// deploy build refuse a value the Worker would answer every request with a 500 for.
import { transform } from "esbuild";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** src/config.ts as a module: validateVars, VAR_NAMES, ... */
export async function loadConfig() {
  const source = await readFile(path.join(root, "src", "config.ts"), "utf8");
  const { code } = await transform(source, { loader: "ts", format: "esm", target: "node20" });
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

/**
 * The problems of wrangler.toml's [vars] and of each [env.NAME.vars] (wrangler does not inherit
 * vars into an environment, so each set stands alone), one line each; [] if all are valid.
 */
export async function checkWranglerVars(configPath = path.join(root, "wrangler.toml")) {
  const [{ validateVars }, { experimental_readRawConfig }] = await Promise.all([loadConfig(), import("wrangler")]);
  const { rawConfig } = experimental_readRawConfig({ config: configPath });
  const sets = [["[vars]", rawConfig.vars ?? {}]];
  for (const [env, cfg] of Object.entries(rawConfig.env ?? {})) if (cfg?.vars) sets.push([`[env.${env}.vars]`, cfg.vars]);
  const file = path.relative(process.cwd(), configPath) || configPath;
  return sets.flatMap(([where, vars]) => validateVars(vars).map((p) => `${file} ${where}: ${p}`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await checkWranglerVars(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  for (const p of problems) console.error(p);
  process.exit(problems.length ? 1 : 0);
}
