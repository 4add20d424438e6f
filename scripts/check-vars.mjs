// The rules for wrangler.toml's [vars] live in src/config.ts, the Worker's own parser; this loads
// them into Node (through esbuild: Node 20 cannot strip types), so that `npm start` and the
// deploy build refuse a value the Worker would answer every request with a 500 for.
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** src/config.ts as a module (bundled with what it imports): validateVars, KNOWN_VARS, ... */
export async function loadConfig() {
  const { outputFiles } = await build({
    entryPoints: [path.join(root, "src", "config.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "node20",
    logLevel: "silent",
  });
  return import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].contents).toString("base64")}`);
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
