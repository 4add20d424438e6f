// An open-loop HTTP load: requests are issued at a steady rate whatever the answers do (wrk is
// closed-loop: a slow answer holds back the next request, hiding the wait it caused). A request
// that finds no free connection waits from the moment it was due, not from when one was free,
// so a stall shows in full (no coordinated omission); one sent at once waits from its sending. Plain sockets and a minimal HTTP/1.1 reader keep
// the generator cheap: it shares the machine's cores with the service.
import net from "node:net";

export interface OpenLoopResult {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

interface Conn {
  socket: net.Socket;
  buf: Buffer;
  /** When the request on this connection was due (ms), or null when idle. */
  due: number | null;
}

/** `rate` requests/s of `method path` with `body`, for `secs`, over up to `conns` keep-alive connections. */
export async function openLoop(
  url: string,
  method: "GET" | "POST",
  path: string,
  body: Uint8Array,
  rate: number,
  secs: number,
  conns = 64,
): Promise<OpenLoopResult> {
  const { hostname, port } = new URL(url);
  const head = Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Length: ${body.length}\r\n\r\n`);
  const request = Buffer.concat([head, body]);
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const backlog: number[] = [];
  const idle: Conn[] = [];

  const issue = (c: Conn, due: number) => {
    c.due = due;
    c.socket.write(request);
  };
  const onData = (c: Conn, chunk: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk;
    for (;;) {
      const end = c.buf.indexOf("\r\n\r\n");
      if (end < 0 || c.due === null) return;
      const headText = c.buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1] ?? NaN);
      if (!Number.isFinite(length)) throw new Error(`open loop: an answer without Content-Length:\n${headText}`);
      if (c.buf.length < end + 4 + length) return;
      c.buf = c.buf.subarray(end + 4 + length);
      latencies.push(performance.now() - c.due);
      if (headText.startsWith("HTTP/1.1 200")) ok++;
      else failed++;
      c.due = null;
      const next = backlog.shift();
      if (next !== undefined) issue(c, next);
      else idle.push(c);
    }
  };

  const all: Conn[] = await Promise.all(
    Array.from({ length: conns }, () =>
      new Promise<Conn>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname, () => resolve(c));
        const c: Conn = { socket, buf: Buffer.alloc(0), due: null };
        socket.setNoDelay(true);
        socket.on("data", (d) => onData(c, d));
        socket.once("error", reject);
      }),
    ),
  );
  idle.push(...all);

  const t0 = performance.now();
  const total = Math.round(rate * secs);
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Every request due by now goes out (on an idle connection, else waits for one).
      while (sent < total && t0 + (sent * 1000) / rate <= now) {
        const due = t0 + (sent * 1000) / rate;
        sent++;
        const c = idle.pop();
        // Sent now: the wait starts now (the generator's own timer lateness is not the
        // service's). Held for want of a connection: it waits from when it was due.
        if (c) issue(c, now);
        else backlog.push(due);
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  // Let the last answers come (bounded).
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  for (const c of all) c.socket.destroy();

  const v = latencies.sort((a, b) => a - b);
  const at = (q: number) => (v.length ? Math.round(v[Math.min(v.length - 1, Math.floor(q * v.length))]! * 100) / 100 : NaN);
  return {
    rate,
    sent,
    ok,
    failed: failed + (total - latencies.length),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: at(1),
  };
}
