// The nsqd HTTP API on the bridge (127.0.0.1:4151 by default) for a remote service: every request
// forwarded as it is (method, path, query, body, streamed both ways) with the token added, and
// WebSocket upgrades (/ws) piped through, so that curl, nsq_stat, nsqadmin and the nsq-edge
// client library pointed at 127.0.0.1:4151 reach the service.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import type { Service } from "./common.js";
import { REMOTE_ADDRESS_HEADER, formatPeer } from "../src/protocol/remote-address.js";

/** Hop-by-hop headers (RFC 9110 7.6.1): never forwarded. */
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

export function forwarder(svc: Service, log: (line: string) => void) {
  const target = new URL(svc.base);
  const secure = target.protocol === "https:";
  const mod = secure ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: 64 });
  const prefix = target.pathname.replace(/\/+$/, "");

  const headersFor = (req: IncomingMessage, upgrade: boolean) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && (upgrade || !HOP.has(k))) headers[k] = v;
    headers.host = target.host;
    // A /ws client's own address, as the relay reports it, in place of whatever the client sent.
    delete headers[REMOTE_ADDRESS_HEADER.toLowerCase()];
    const peer = formatPeer(req.socket.remoteAddress, req.socket.remotePort);
    if (upgrade && peer) headers[REMOTE_ADDRESS_HEADER.toLowerCase()] = peer;
    if (svc.token && !headers.authorization) headers.authorization = `Bearer ${svc.token}`;
    return headers;
  };

  const options = (req: IncomingMessage, upgrade: boolean): http.RequestOptions => ({
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port || (secure ? 443 : 80),
    method: req.method,
    path: prefix + (req.url ?? "/"),
    headers: headersFor(req, upgrade),
    agent: upgrade ? false : agent,
    timeout: 60_000,
  });

  const fail = (res: ServerResponse, e: Error) => {
    log(`nsqd HTTP forward: ${e.message}`);
    if (res.headersSent) return res.destroy();
    const body = JSON.stringify({ message: "SERVICE_UNREACHABLE" });
    res.writeHead(502, { "Content-Type": "application/json; charset=utf-8", "X-NSQ-Content-Type": "nsq; version=1.0", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const up = mod.request(options(req, false), (upRes) => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
      upRes.on("error", () => res.destroy());
    });
    up.on("timeout", () => up.destroy(new Error("the service took more than 60 s to answer")));
    up.on("error", (e) => fail(res, e));
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  };

  /** A WebSocket upgrade: the 101 answer and then both byte streams, piped. */
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    const up = mod.request(options(req, true));
    up.on("upgrade", (upRes, upSocket, upHead) => {
      let text = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n`;
      for (let i = 0; i < upRes.rawHeaders.length; i += 2) text += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
      socket.write(text + "\r\n");
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on("error", () => socket.destroy());
      socket.on("error", () => upSocket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    up.on("response", (upRes) => {
      // Refused upgrade: the status and body (up to 64 KiB), then close.
      const chunks: Buffer[] = [];
      let size = 0;
      upRes.on("data", (c: Buffer) => {
        if (size < 65536) chunks.push(c);
        size += c.length;
      });
      upRes.on("end", () => {
        const body = Buffer.concat(chunks).subarray(0, 65536);
        const type = upRes.headers["content-type"];
        socket.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n${type ? `Content-Type: ${type}\r\n` : ""}` +
                `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
            ),
            body,
          ]),
        );
      });
    });
    up.on("error", (e) => {
      log(`nsqd HTTP forward (upgrade): ${e.message}`);
      socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    up.end();
  };

  return { onRequest, onUpgrade, close: () => agent.destroy() };
}
