// A `connect` option for tests: opens `ws` sockets and records what the library sends on them,
// so that tests can count WebSocket messages (coalescing) and read the commands (RDY, FIN).
import WebSocket from "ws";
import type { Connect } from "@nsq-edge/client";
import { V2Parser } from "../../src/protocol/parser";

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

/** The command lines of a client-to-server byte stream (bodies skipped), read by the service's parser. */
export function commandLines(chunks: Uint8Array[]): string[] {
  const magic = chunks.length > 0 && new TextDecoder().decode(chunks[0].subarray(0, 4)) === "  V2";
  const parser = new V2Parser({ maxMsgSize: 2 ** 31 - 1, maxBodySize: 2 ** 31 - 1 }, { magic });
  return chunks.flatMap((c) => parser.feed(c).filter((cmd) => !cmd.head)).map((cmd) => [cmd.name, ...cmd.params].join(" "));
}
