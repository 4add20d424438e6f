// Where the browser tests find headless Chromium: $CHROMIUM_PATH, else Debian's /usr/bin/chromium.
// A browser test that cannot run is not a pass, so without one this throws (in a test file) or
// exits 1 (run as a script, first thing in `npm test`) with one line saying how to get one.
import { accessSync, constants } from "node:fs";
import { pathToFileURL } from "node:url";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** The problem with the Chromium binary the tests would use, as one line, or null if it is usable. */
export function chromiumProblem(env = process.env) {
  const given = env.CHROMIUM_PATH;
  const bin = given || DEFAULT_CHROMIUM;
  try {
    accessSync(bin, constants.X_OK);
    return null;
  } catch {
    const where = given ? `CHROMIUM_PATH=${given} is not an executable file` : `there is no ${DEFAULT_CHROMIUM}`;
    return `the browser tests need headless Chromium and ${where}: install it (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary`;
  }
}

/** The Chromium binary to launch; throws the one-line problem if there is none. */
export function chromiumPath(env = process.env) {
  const problem = chromiumProblem(env);
  if (problem) {
    const err = new Error(problem);
    err.stack = `Error: ${problem}`; // the line is the whole story: no stack trace under it
    throw err;
  }
  return env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const problem = chromiumProblem();
  if (problem) {
    console.error(`npm test: ${problem}`);
    process.exit(1);
  }
}
