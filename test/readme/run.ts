// Running README text: shell lines with bash, scripts with node, from the repository root (so
// `npx nsq-edge`, `ws` and `nsqjs` resolve as in a checkout), and long-running commands in a
// process group of their own, stopped as a whole.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sleep } from "../helpers/wait";

export const root = path.resolve(import.meta.dirname, "..", "..");

/** A shell snippet's commands: one per line, without blank lines and `# comments`. */
export function commands(snippet: string): string[] {
  return snippet
    .split("\n")
    .map((l) => l.replace(/\s+#\s.*$/, "").trim())
    .filter(Boolean);
}

/** A directory whose `nsq-edge` is bin/nsq-edge.mjs: what a reader has on PATH after `npm link`. */
export function binDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "nsq-edge-bin-"));
  symlinkSync(path.join(root, "bin", "nsq-edge.mjs"), path.join(dir, "nsq-edge"));
  return dir;
}

export interface Opts {
  env?: Record<string, string>;
  cwd?: string;
}

/** A process started from README text; its output so far, a wait for a line, a stop. */
export class Run {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private done = false;
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on("data", (d) => (this.stdout += d));
    proc.stderr!.on("data", (d) => (this.stderr += d));
    this.exited = new Promise((r) => proc.on("close", (code) => ((this.done = true), r(code))));
  }

  /** `bash -c LINE`. */
  static sh(line: string, opts: Opts = {}): Run {
    return Run.spawn("bash", ["-c", line], opts);
  }

  /** `node --input-type=module|commonjs -e CODE`: a script as the README shows it. */
  static node(code: string, type: "module" | "commonjs", opts: Opts = {}): Run {
    return Run.spawn(process.execPath, [`--input-type=${type}`, "-e", code], opts);
  }

  static spawn(cmd: string, args: string[], opts: Opts): Run {
    const env = { ...process.env, ...opts.env };
    return new Run(spawn(cmd, args, { cwd: opts.cwd ?? root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** Waits until stdout matches `re`; throws with the output if the process ends first. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(re);
      if (m) return m;
      if (this.done || Date.now() > deadline) throw new Error(`${this.done ? "exited" : "timed out"} before ${re}\n${this.output()}`);
      await sleep(25);
    }
  }

  /** Waits for the exit; throws with the output after `timeoutMs`. */
  async finish(timeoutMs = 30_000): Promise<number | null> {
    const timer = setTimeout(() => this.kill("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  output() {
    return `stdout: ${this.stdout}\nstderr: ${this.stderr}`;
  }

  kill(signal: NodeJS.Signals) {
    if (!this.done) {
      try {
        process.kill(-this.proc.pid!, signal);
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM to the whole group (npx and the node it runs, a pipeline), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs a shell line to the end: its exit code and output. */
export async function sh(line: string, opts: Opts = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = Run.sh(line, opts);
  const code = await run.finish();
  return { code, stdout: run.stdout, stderr: run.stderr };
}
