// One TCP connection relayed as one WebSocket to the service's /ws: the same byte stream both
// ways (the service's /ws carries exactly what nsqd's TCP port carries).
//
// Backpressure, so that memory stays bounded whatever the speed of either side:
//   TCP → WebSocket: bytes handed to ws.send() and not yet written to the WebSocket's socket are
//     counted; above HIGH_WATER_MARK the TCP socket is paused (the kernel then pushes back on the
//     client), and resumed below a quarter of it.
//   WebSocket → TCP: when tcp.write() reports a full buffer, the WebSocket stops reading its
//     socket (ws.pause()) until the TCP socket drains (the service then sees its own buffer fill).
//
// Closing: the TCP client closing closes the WebSocket with 1000 (after a half-close, once the
// service has answered what was sent, as nsqd would); the WebSocket closing for any reason (the service closed it after a fatal
// error, the service restarted, the upgrade was refused) ends the TCP connection once the bytes
// already received are written, so a client sees what a restart of nsqd would show it: a closed
// connection, which its reconnect logic handles.
import type { Socket } from "node:net";
import WebSocket from "ws";
import { REMOTE_ADDRESS_HEADER, formatPeer } from "../src/protocol/remote-address.js";

export interface RelayOptions {
  /** ws(s)://host/ws */
  wsUrl: string;
  /** Sent on the upgrade request (Authorization). */
  headers: Record<string, string>;
  /** Reports a failure (one line). */
  log(line: string): void;
}

/** Bytes queued toward the WebSocket before the TCP socket is paused. */
const HIGH_WATER_MARK = 1 << 20;
/** Largest WebSocket message accepted from the service (it may carry many message frames). */
const MAX_PAYLOAD = 256 << 20;
/** How long opening the WebSocket may take. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** After the TCP side was ended, how long a client that never closes keeps its socket. */
const LINGER_MS = 30_000;
/** After the client's end: the service is done answering once it has been quiet this long... */
const QUIET_MS = 500;
/** ...or this long after the end, whatever it still sends. */
const END_WAIT_MS = 10_000;

export function relay(tcp: Socket, opts: RelayOptions): void {
  const high = HIGH_WATER_MARK;
  const low = high >> 2;
  const peer = `${tcp.remoteAddress}:${tcp.remotePort}`;

  tcp.setNoDelay(true);
  tcp.pause(); // until the WebSocket is open: its bytes wait in the kernel meanwhile

  // The client's own address, for its remote_address in the service's /stats (as nsqd shows it).
  const reported = formatPeer(tcp.remoteAddress, tcp.remotePort);
  const ws = new WebSocket(opts.wsUrl, {
    headers: reported ? { ...opts.headers, [REMOTE_ADDRESS_HEADER]: reported } : opts.headers,
    perMessageDeflate: false,
    // Masking (RFC 6455 §5.3) keeps a browser's script from steering bytes through caches
    // between it and the server; this relay is no browser and relays its client's bytes as
    // they are. An all-zero key is a valid key that leaves the payload unchanged, and lets ws
    // skip an XOR over every byte published through the bridge.
    generateMask: (mask: Buffer) => void mask.fill(0),
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    maxPayload: MAX_PAYLOAD,
  });

  let queued = 0; // bytes given to ws.send() whose write has not completed
  let tcpPaused = true; // paused by the relay (not open yet, or the WebSocket is behind)
  let wsPaused = false;
  let tcpGone = false; // the TCP socket closed: nothing more to write to it
  let ended = false; // tcp.end() was called
  let lastFromWs = Date.now();

  const endTcp = () => {
    if (ended || tcpGone) return;
    ended = true;
    tcp.end();
    // A client that never closes its side does not keep the socket forever.
    setTimeout(() => tcp.destroy(), LINGER_MS).unref();
  };

  const closeWs = (code: number, reason: string) => {
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else if (ws.readyState === WebSocket.OPEN) {
      ws.close(code, reason);
      // A service that never answers the close frame does not keep the socket either.
      setTimeout(() => ws.terminate(), 5000).unref();
    }
  };

  ws.on("open", () => {
    if (tcpGone) return closeWs(1000, "client closed");
    tcpPaused = false;
    tcp.resume();
  });

  tcp.on("data", (chunk: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return; // closing: nowhere to go
    queued += chunk.length;
    ws.send(chunk, { binary: true }, () => {
      queued -= chunk.length;
      if (tcpPaused && queued <= low && ws.readyState === WebSocket.OPEN && !tcpGone) {
        tcpPaused = false;
        tcp.resume();
      }
    });
    if (!tcpPaused && queued > high) {
      tcpPaused = true;
      tcp.pause();
    }
  });

  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
    lastFromWs = Date.now();
    if (tcpGone || ended) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!tcp.write(buf) && !wsPaused) {
      wsPaused = true;
      ws.pause();
      tcp.once("drain", () => {
        wsPaused = false;
        if (ws.readyState === WebSocket.OPEN) ws.resume();
      });
    }
  });

  // The client closed its sending side: as nsqd answers every command read before EOF, the
  // service gets time to answer what was sent, and the WebSocket is closed (1000) once it has
  // been quiet for QUIET_MS (at most END_WAIT_MS after the end).
  tcp.on("end", () => {
    const since = Date.now();
    const check = () => {
      if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) return;
      const now = Date.now();
      if (ws.readyState === WebSocket.OPEN && (now - lastFromWs >= QUIET_MS || now - since >= END_WAIT_MS)) return closeWs(1000, "client closed");
      setTimeout(check, 100).unref();
    };
    check();
  });
  tcp.on("close", () => {
    tcpGone = true;
    closeWs(1000, "client closed");
  });
  tcp.on("error", () => {
    // "close" follows; a reset client is not worth a line.
  });

  ws.on("error", (e: Error) => {
    if (!tcpGone) opts.log(`${peer}: ${opts.wsUrl}: ${e.message}`);
  });
  ws.on("close", () => endTcp());
}
