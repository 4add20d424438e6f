// npm run build (and npm pack's prepack): compiles the package into dist/client (the library)
// and dist/protocol (the codecs it shares with the service, in ../src/protocol), so that the
// tarball holds everything it imports. tsc keeps the repository's layout (client/src,
// src/protocol): this moves the two folders into place and points the library's imports of
// ../../src/protocol/ at ../protocol/, their place in dist.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");
const tsc = path.join(dist, "tsc");
const require = (await import("node:module")).createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(here, "tsconfig.json")], { stdio: "inherit" });
const emitted = readdirSync(tsc).sort().join(",");
if (emitted !== "client,src") throw new Error(`tsc emitted ${emitted}: the library should import only src/protocol`);
renameSync(path.join(tsc, "client", "src"), path.join(dist, "client"));
renameSync(path.join(tsc, "src", "protocol"), path.join(dist, "protocol"));
rmSync(tsc, { recursive: true });
for (const f of readdirSync(path.join(dist, "client"))) {
  const file = path.join(dist, "client", f);
  writeFileSync(file, readFileSync(file, "utf8").replaceAll('"../../src/protocol/', '"../protocol/'));
}
