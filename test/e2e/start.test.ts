// `npm start` (scripts/start.mjs) as a user meets it: a mistake on the command line or in the
// vars stops it with one line on standard error (exit 2; 1 for a failure at run time), and one
// state directory serves one service at a time, a crashed holder's lock taken over.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./service";

const root = path.resolve(import.meta.dirname, "..", "..");
const dirs: string[] = [];
const procs: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "nsq-edge-start-"));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const p of procs) killGroup(p);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** SIGKILL to the process group (node and workerd), as test/e2e/service.ts does. */
function killGroup(p: ChildProcess) {
  try {
    process.kill(-p.pid!, "SIGKILL");
  } catch {}
}

interface Outcome {
  proc: ChildProcess;
  /** Set once it printed "listening on"; otherwise it exited. */
  listening: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs scripts/start.mjs until it listens or exits. npm's variables are dropped unless given. */
function run(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  const proc = spawn(process.execPath, ["scripts/start.mjs", ...args], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...clean, NSQ_EDGE_PORT: "", NSQ_EDGE_DATA: "", ...env },
  });
  procs.push(proc);
  const out: Outcome = { proc, listening: false, code: null, stdout: "", stderr: "" };
  return new Promise((resolve) => {
    proc.stdout!.on("data", (d) => {
      out.stdout += d;
      if (!out.listening && out.stdout.includes("listening on")) {
        out.listening = true;
        resolve(out);
      }
    });
    proc.stderr!.on("data", (d) => (out.stderr += d));
    proc.on("exit", (code) => {
      out.code = code;
      resolve(out);
    });
  });
}

/** Exited with `code` and exactly one line on stderr holding every one of `words`. */
function expectOneLine(o: Outcome, code: number, ...words: string[]) {
  expect(o.listening, o.stdout).toBe(false);
  expect(o.code, o.stderr).toBe(code);
  expect(o.stderr, "one line on stderr").toMatch(/^[^\n]+\n$/);
  for (const w of words) expect(o.stderr).toContain(w);
}

const waitExit = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once("exit", r)));

describe("bad usage: one line, exit 2", () => {
  it("a port that is not a number, or out of range", async () => {
    const dir = tempDir();
    expectOneLine(await run(["--port", "5151x", "--data", dir]), 2, '--port "5151x" is not a port', "1-65535");
    expectOneLine(await run(["--port", "70000", "--data", dir]), 2, '--port "70000"', "1-65535");
    expectOneLine(await run(["--data", dir], { NSQ_EDGE_PORT: "0" }), 2, 'NSQ_EDGE_PORT "0" is not a port');
  });

  it("an unknown flag, a stray argument", async () => {
    expectOneLine(await run(["--prot", "5151"]), 2, "unknown flag --prot", "--port", "--help");
    expectOneLine(await run(["5151"]), 2, 'unexpected argument "5151"');
  });

  it("a flag npm took for itself (npm start --port 5151, without --)", async () => {
    // What npm passes on for `npm start --port 5151` and `npm start --port=5151`.
    expectOneLine(await run(["5151"], { npm_config_port: "true" }), 2, "use: npm start -- --port 5151");
    expectOneLine(await run([], { npm_config_port: "5151" }), 2, "use: npm start -- --port 5151");
    expectOneLine(await run(["/tmp/x", "5151"], { npm_config_port: "true", npm_config_data: "true" }), 2, 'after "--"', "--port", "--data");
  });

  it("a var that is not valid: its name, value and what is expected", async () => {
    const dir = tempDir();
    const bad = (...vars: string[]) => run(["--data", dir, ...vars.flatMap((v) => ["--var", v])]);
    expectOneLine(await bad("MSG_TIMEOUT=banana"), 2, 'MSG_TIMEOUT="banana" is not a duration (expected e.g. 60s, 250ms, 15m)');
    expectOneLine(await bad("MAX_RDY_COUNT=lots"), 2, 'MAX_RDY_COUNT="lots" is not a positive whole number');
    expectOneLine(await bad("MSG_TIMEOUT=20m"), 2, 'MSG_TIMEOUT="20m" is more than MAX_MSG_TIMEOUT="15m"');
    expectOneLine(await bad("MSG_TIMOUT=5s"), 2, "unknown --var MSG_TIMOUT", "did you mean MSG_TIMEOUT?");
    expectOneLine(await bad("MSG_TIMEOUT"), 2, "--var takes NAME=VALUE");
    // Nothing was started on the directory: no lock left in it.
    expect(existsSync(path.join(dir, "nsq-edge.lock"))).toBe(false);
  });
});

describe("run-time failures: one line, exit 1", () => {
  it("the port already in use: names host:port and suggests --port", async () => {
    const srv = createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, "127.0.0.1", () => resolve((srv.address() as { port: number }).port)));
    try {
      const dir = tempDir();
      expectOneLine(await run(["--port", String(port), "--data", dir]), 1, `127.0.0.1:${port} is already in use`, "--port");
      expect(existsSync(path.join(dir, "nsq-edge.lock")), "lock released on failure").toBe(false);
    } finally {
      srv.close();
    }
  });
});

describe("one service per state directory", () => {
  it("two starts at once: one serves, the other refuses naming the directory and the holder's pid; a SIGKILLed holder's lock is taken over", async () => {
    const dir = tempDir();
    const [a, b] = await Promise.all([run(["--port", String(await freePort()), "--data", dir]), run(["--port", String(await freePort()), "--data", dir])]);
    expect([a.listening, b.listening].sort(), `${a.stderr}${b.stderr}`).toEqual([false, true]);
    const [winner, loser] = a.listening ? [a, b] : [b, a];
    expectOneLine(loser, 1, "in use by another nsq-edge", `pid ${winner.proc.pid}`, path.basename(dir));
    const url = /listening on (\S+)/.exec(winner.stdout)![1];
    expect(await (await fetch(`${url}/pub?topic=kept`, { method: "POST", body: "m1" })).text()).toBe("OK");

    // Another start while it runs: refused too, the first one unharmed.
    expectOneLine(await run(["--port", String(await freePort()), "--data", dir]), 1, `pid ${winner.proc.pid}`);
    expect((await fetch(`${url}/ping`)).status).toBe(200);

    // SIGKILL (node and workerd): the lock file stays behind, the next start takes it over.
    killGroup(winner.proc);
    await waitExit(winner.proc);
    expect(existsSync(path.join(dir, "nsq-edge.lock"))).toBe(true);
    const next = await run(["--port", String(await freePort()), "--data", dir]);
    expect(next.listening, next.stderr).toBe(true);
    const url2 = /listening on (\S+)/.exec(next.stdout)![1];
    const stats = await (await fetch(`${url2}/stats?format=json&topic=kept`)).json();
    expect(JSON.stringify(stats)).toContain('"depth":1');

    if (process.platform === "linux") {
      // Only node killed: its workerd may live on (and run alarms on the files), so the
      // directory stays held by workerd until that one is gone too. workerd is stopped first
      // (SIGSTOP), else it may exit by itself before the next start looks.
      const { workerd } = JSON.parse(readFileSync(path.join(dir, "nsq-edge.lock"), "utf8"));
      expect(workerd, "the lock names workerd").toHaveLength(1);
      process.kill(workerd[0].pid, "SIGSTOP");
      process.kill(next.proc.pid!, "SIGKILL");
      await waitExit(next.proc);
      expectOneLine(await run(["--port", String(await freePort()), "--data", dir]), 1, `in use by workerd (pid ${workerd[0].pid})`, `nsq-edge pid ${next.proc.pid} that died`);
      killGroup(next.proc); // workerd is still in that process group
      await new Promise((r) => setTimeout(r, 500));
      const last = await run(["--port", String(await freePort()), "--data", dir]);
      expect(last.listening, last.stderr).toBe(true);
      killGroup(last.proc);
      await waitExit(last.proc);
    } else {
      killGroup(next.proc);
    }
  });

  it("a stale lock found by several starts at once goes to exactly one of them", async () => {
    const dir = tempDir();
    // A lock left by a process that is gone.
    const dead = spawn(process.execPath, ["-e", ""]);
    await waitExit(dead);
    writeFileSync(path.join(dir, "nsq-edge.lock"), JSON.stringify({ pid: dead.pid, start: null, workerd: [] }));
    const lockUrl = pathToFileURL(path.join(root, "scripts", "data-lock.mjs")).href;
    // Each contender holds what it got for a moment, so that the others find it alive.
    const contender = `import(${JSON.stringify(lockUrl)}).then((m) => {
      try { m.lockDataDir(${JSON.stringify(dir)}); console.log("got"); setTimeout(() => {}, 1500); }
      catch (e) { console.log(e.name); }
    });`;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", contender], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        p.stdout!.on("data", (d) => (out += d));
        return new Promise<string>((resolve) => p.on("exit", () => resolve(out.trim())));
      }),
    );
    expect(outputs.sort()).toEqual(["LockHeldError", "LockHeldError", "LockHeldError", "got"]);
    expect(existsSync(path.join(dir, "nsq-edge.lock")), "released at exit").toBe(false);
  });

  it("a clean stop (SIGTERM) removes the lock file", async () => {
    const dir = tempDir();
    const svc = await run(["--port", String(await freePort()), "--data", dir]);
    expect(svc.listening, svc.stderr).toBe(true);
    expect(existsSync(path.join(dir, "nsq-edge.lock"))).toBe(true);
    process.kill(svc.proc.pid!, "SIGTERM");
    await waitExit(svc.proc);
    expect(svc.proc.exitCode).toBe(0);
    expect(existsSync(path.join(dir, "nsq-edge.lock"))).toBe(false);
  });
});

describe("validateVars (src/config.ts), the rules npm start and the deploy build share", () => {
  // Through the loader the scripts use (Node 20 cannot import TypeScript itself).
  const load = async () => (await import(pathToFileURL(path.join(root, "scripts", "check-vars.mjs")).href)).loadConfig();

  it("accepts nsqd's defaults and wrangler.toml's values, and leaves unset vars to the defaults", async () => {
    const { validateVars } = await load();
    expect(validateVars({})).toEqual([]);
    expect(
      validateVars({ MAX_MSG_SIZE: "1048576", MAX_BODY_SIZE: 5242880, MAX_RDY_COUNT: "2500", MSG_TIMEOUT: "60s", MAX_MSG_TIMEOUT: "15m", MAX_REQ_TIMEOUT: "0", HEARTBEAT_INTERVAL: "1.5s", OUTPUT_BUFFER_TIMEOUT: "0" }),
    ).toEqual([]);
  });

  it("refuses each bad value with one line naming it", async () => {
    const { validateVars, VAR_NAMES } = await load();
    for (const name of VAR_NAMES as string[]) {
      const problems = validateVars({ [name]: "banana" });
      expect(problems, name).toHaveLength(1);
      expect(problems[0]).toContain(`${name}="banana"`);
    }
    expect(validateVars({ MAX_MSG_SIZE: "1e3" })[0]).toContain("not a positive whole number");
    expect(validateVars({ MAX_RDY_COUNT: "0" })[0]).toContain("not a positive whole number");
    expect(validateVars({ MSG_TIMEOUT: "0" })[0]).toContain("must be more than 0");
    expect(validateVars({ HEARTBEAT_INTERVAL: "0s" })[0]).toContain("must be more than 0");
    expect(validateVars({ MSG_TIMEOUT: "2m", MAX_MSG_TIMEOUT: "1m" })[0]).toContain('MSG_TIMEOUT="2m" is more than MAX_MSG_TIMEOUT="1m"');
    expect(validateVars({ MAX_MSG_SIZE: "3000000" })[0]).toContain("at most 2 MB");
  });

  it("the deploy build's check of wrangler.toml passes on the repository's own file", async () => {
    const { checkWranglerVars } = await import(pathToFileURL(path.join(root, "scripts", "check-vars.mjs")).href);
    expect(await checkWranglerVars()).toEqual([]);
  });
});
