// A `connect` option for tests: opens `ws` sockets and records what the library sends on them,
// so that tests can count WebSocket messages (coalescing) and read the commands (RDY, FIN).
import WebSocket from "ws";
import type { Connect } from "nsq-edge/client";

export interface Recorder {
  connect: Connect;
  /** Every WebSocket message sent, per socket, in order. */
  sockets: { url: string; sent: Uint8Array[] }[];
  /** The command lines sent (bodies skipped), over all sockets, e.g. "RDY 5", "FIN 0123...". */
  lines(): string[];
}

export function recorder(): Recorder {
  const sockets: Recorder["sockets"] = [];
  const connect: Connect = (url) => {
    const ws = new WebSocket(url);
    const entry = { url, sent: [] as Uint8Array[] };
    sockets.push(entry);
    const send = ws.send.bind(ws);
    (ws as any).send = (data: Uint8Array) => {
      entry.sent.push(new Uint8Array(data));
      send(data);
    };
    return ws as any;
  };
  return { connect, sockets, lines: () => sockets.flatMap((s) => commandLines(s.sent)) };
}

const BODY_VERBS = new Set(["IDENTIFY", "AUTH", "PUB", "MPUB", "DPUB"]);

/** Splits a client-to-server byte stream into command lines, skipping the magic and bodies. */
export function commandLines(chunks: Uint8Array[]): string[] {
  let size = 0;
  for (const c of chunks) size += c.length;
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const out: string[] = [];
  let pos = all.length >= 4 && new TextDecoder().decode(all.subarray(0, 4)) === "  V2" ? 4 : 0;
  while (pos < all.length) {
    const nl = all.indexOf(10, pos);
    if (nl < 0) break;
    const line = new TextDecoder().decode(all.subarray(pos, nl));
    out.push(line);
    pos = nl + 1;
    if (BODY_VERBS.has(line.split(" ")[0])) {
      const len = new DataView(all.buffer, pos, 4).getUint32(0);
      pos += 4 + len;
    }
  }
  return out;
}
