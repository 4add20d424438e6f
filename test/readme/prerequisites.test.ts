// README "Two commands": without Chromium, `npm test` stops at once with one line saying how to
// get one, and a browser suite run by itself fails with that line instead of being skipped.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { root } from "./run";

const run = (cmd: string, args: string[], env: Record<string, string>) =>
  promisify(execFile)(cmd, args, { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );

const line = (where: string) =>
  `the browser tests need headless Chromium and ${where}: install it (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary`;

it("npm test's first step: exit 1 and one line without a Chromium binary, exit 0 with one", async () => {
  const missing = await run(process.execPath, ["test/helpers/chromium.mjs"], { CHROMIUM_PATH: "/nonexistent/chromium" });
  expect(missing).toEqual({ code: 1, stdout: "", stderr: `npm test: ${line("CHROMIUM_PATH=/nonexistent/chromium is not an executable file")}\n` });
  const present = await run(process.execPath, ["test/helpers/chromium.mjs"], { CHROMIUM_PATH: process.execPath });
  expect(present).toEqual({ code: 0, stdout: "", stderr: "" });
});

it("a browser suite without Chromium fails with that line (not skipped)", async () => {
  const res = await run("npx", ["vitest", "run", "--config", "test/admin/vitest.config.ts"], { CHROMIUM_PATH: "/nonexistent/chromium", NO_COLOR: "1", FORCE_COLOR: "0" });
  const out = res.stdout + res.stderr;
  expect(res.code, out).toBe(1);
  expect(out).toContain(`Error: ${line("CHROMIUM_PATH=/nonexistent/chromium is not an executable file")}\n`);
  // Every file of the suite fails; none passes or is skipped.
  expect(out).toMatch(/Test Files\s+\d+ failed \(\d+\)/);
  expect(out).toMatch(/Tests\s+no tests/);
});
