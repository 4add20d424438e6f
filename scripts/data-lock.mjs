// One service per state directory: two workerd processes on the same SQLite files would each
// keep their own view of every queue (answers diverge, acknowledged messages can be lost). The
// lock is a file in the directory holding the pid of the service and of its workerd, created
// exclusively (a hard link of a complete file: never seen empty or half written). A holder
// that died (SIGKILL, power loss) leaves the file behind; the next start sees its processes gone
// and takes the lock over. Linux's /proc start times tell a reused pid from the holder.
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

export const LOCK_FILE = "nsq-edge.lock";

/** The lock is held by live processes. */
export class LockHeldError extends Error {
  constructor(dir, holder, live) {
    const where = path.relative(process.cwd(), dir) || ".";
    super(
      live.pid === holder.pid
        ? `${where} is in use by another nsq-edge (pid ${holder.pid}): stop it, or give this one another --data DIR`
        : `${where} is in use by workerd (pid ${live.pid}), left running by nsq-edge pid ${holder.pid} that died: stop it (kill ${live.pid}), or give this one another --data DIR`,
    );
    this.name = "LockHeldError";
    this.holder = holder;
  }
}

/** The fields of /proc/PID/stat after "(comm)" (state first), where /proc exists. */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The process's start time since boot (clock ticks, field 22), where /proc tells it. */
const startTime = (pid) => procStat(pid)?.[19];

const identity = (pid) => ({ pid, start: startTime(pid) ?? null });

function alive({ pid, start }) {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== "EPERM") return false; // ESRCH: gone
  }
  const stat = procStat(pid);
  // A zombie (killed, not yet reaped by its parent) no longer writes anything.
  if (stat?.[0] === "Z") return false;
  return start == null || stat === undefined || stat[19] === start;
}

/** The workerd processes this process started (Miniflare does not say): Linux only. */
function workerdChildren() {
  let pids;
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const out = [];
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && comm.startsWith("workerd")) out.push(identity(Number(d)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function readRaw(file) {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if (e.code === "ENOENT") return null;
    throw e;
  }
}

function parse(raw) {
  try {
    const h = JSON.parse(raw);
    return Number.isInteger(h?.pid) ? h : null;
  } catch {
    return null;
  }
}

/** Creates `file` with `contents` only if it does not exist; false if it does. */
function createExclusive(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if (e.code === "EEXIST") return false;
    // A file system without hard links: exclusive create (a reader may see it empty a moment).
    try {
      writeFileSync(file, contents, { flag: "wx" });
      return true;
    } catch (e2) {
      if (e2.code === "EEXIST") return false;
      throw e2;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

const ageMs = (file) => {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Removes a stale lock file, if it still holds what was read (`raw`). Two starts may find the
 * same stale lock: a second exclusive file (".break") lets one at a time check and remove it, so
 * that none removes the fresh lock another has just taken. A ".break" left by a crash inside
 * this short step is dropped after 10 s.
 */
function breakStale(file, raw) {
  const brk = `${file}.break`;
  if (!createExclusive(brk, String(process.pid))) {
    if (ageMs(brk) > 10_000) {
      try {
        unlinkSync(brk);
      } catch {}
    }
    sleep(20);
    return;
  }
  try {
    if (readRaw(file) === raw) unlinkSync(file);
  } finally {
    unlinkSync(brk);
  }
}

export class DataLock {
  constructor(dir, file, me) {
    this.dir = dir;
    this.file = file;
    this.me = me;
    this.released = false;
    this.onExit = () => this.release();
    process.on("exit", this.onExit);
  }

  /** Adds the workerd processes started since to the lock: they hold the directory too. */
  recordWorkerd() {
    const workerd = workerdChildren();
    if (!workerd.length || this.released) return;
    this.me = { ...this.me, workerd };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.me) + "\n");
    renameSync(tmp, this.file);
  }

  release() {
    if (this.released) return;
    this.released = true;
    process.off("exit", this.onExit);
    const held = parse(readRaw(this.file) ?? "");
    if (held?.pid === this.me.pid && held?.start === this.me.start) {
      try {
        unlinkSync(this.file);
      } catch {}
    }
  }
}

/** Takes the directory's lock (creating the directory), or throws LockHeldError. */
export function lockDataDir(dir) {
  dir = path.resolve(dir);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const me = { ...identity(process.pid), workerd: [] };
  const contents = JSON.stringify(me) + "\n";
  for (let attempt = 0; attempt < 500; attempt++) {
    if (createExclusive(file, contents)) return new DataLock(dir, file, me);
    const raw = readRaw(file);
    if (raw === null) continue; // released meanwhile
    const holder = parse(raw);
    if (!holder) {
      // Being written (file systems without links), or garbage: garbage once it has aged.
      if (ageMs(file) < 2000) {
        sleep(20);
        continue;
      }
    } else {
      const live = [holder, ...(Array.isArray(holder.workerd) ? holder.workerd : [])].find(alive);
      if (live) throw new LockHeldError(dir, holder, live);
    }
    breakStale(file, raw);
  }
  throw new Error(`cannot take the lock ${file}`);
}
