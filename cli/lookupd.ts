// nsqlookupd's read API on the bridge (127.0.0.1:4161 by default): /lookup, /nodes, /topics,
// /channels, /ping, /info, answered from the service but with the bridge itself as the one
// producer (broadcast_address, tcp_port of the relay, http_port of the nsqd HTTP forwarder), so
// that go-nsq, pynsq, nsqjs, nsq_tail and nsq_stat configured with a lookupd connect through
// the bridge. Routing answers as nsqlookupd's router does (404 NOT_FOUND, 405 with Allow).
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname } from "node:os";
import type { PeerInfo } from "../src/lookupd.js";
import { reason, type Service } from "./common.js";

export interface Advertised {
  broadcastAddress: string;
  tcpPort: number;
  httpPort: number;
}

const V1 = { "X-NSQ-Content-Type": "nsq; version=1.0" };

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...V1, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...extra });
  res.end(text);
}

const nsqError = (res: ServerResponse, status: number, message: string, extra?: Record<string, string>) => json(res, status, { message }, extra);

const ROUTES = ["/lookup", "/nodes", "/topics", "/channels", "/ping", "/info"];

export function lookupdHandler(svc: Service, advertised: () => Advertised) {
  const self = (version: string): PeerInfo => {
    const a = advertised();
    return {
      remote_address: `${a.broadcastAddress}:${a.tcpPort}`,
      hostname: hostname(),
      broadcast_address: a.broadcastAddress,
      tcp_port: a.tcpPort,
      http_port: a.httpPort,
      version,
      topology_zone: "",
      topology_region: "",
    };
  };

  /** GET from the service; null (and a 502 answered) when it cannot be reached. */
  const upstream = async (res: ServerResponse, pathAndQuery: string): Promise<Response | null> => {
    try {
      return await fetch(svc.base + pathAndQuery, {
        headers: { ...svc.headers, Accept: "application/vnd.nsq; version=1.0" },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      nsqError(res, 502, `SERVICE_UNREACHABLE ${reason(e)}`);
      return null;
    }
  };

  /** The service's answer as it is (status, body, content types). */
  const passThrough = async (res: ServerResponse, up: Response) => {
    const body = Buffer.from(await up.arrayBuffer());
    const headers: Record<string, string | number> = { "Content-Length": body.length };
    for (const h of ["content-type", "x-nsq-content-type"]) {
      const v = up.headers.get(h);
      if (v) headers[h] = v;
    }
    res.writeHead(up.status, headers);
    res.end(body);
  };

  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const path = url.pathname;
    if (!ROUTES.includes(path)) return nsqError(res, 404, "NOT_FOUND");
    if (req.method === "OPTIONS") {
      res.writeHead(200, { Allow: "GET, OPTIONS", "Content-Length": 0 });
      return res.end();
    }
    if (req.method !== "GET") return nsqError(res, 405, "METHOD_NOT_ALLOWED", { Allow: "GET, OPTIONS" });
    req.resume(); // a GET body is read and ignored, as nsqlookupd does

    const up = await upstream(res, path === "/info" ? "/info" : path + url.search);
    if (!up) return;
    try {
      switch (path) {
        case "/ping":
        case "/topics":
        case "/channels":
          return await passThrough(res, up);
        case "/info": {
          if (up.status !== 200) return await passThrough(res, up);
          const info = (await up.json()) as { version?: string };
          return json(res, 200, { version: info.version ?? "" });
        }
        case "/lookup": {
          if (up.status !== 200) return await passThrough(res, up);
          const body = (await up.json()) as { channels?: string[]; producers?: Partial<PeerInfo>[] };
          const producers = body.producers ?? [];
          return json(res, 200, {
            channels: body.channels ?? [],
            // Every node the service lists is reached through this bridge: one producer.
            producers: producers.length ? [self(producers[0]!.version ?? "")] : [],
          });
        }
        case "/nodes": {
          if (up.status !== 200) return await passThrough(res, up);
          const body = (await up.json()) as { producers?: (Partial<PeerInfo> & { topics?: string[]; tombstones?: boolean[] })[] };
          const producers = body.producers ?? [];
          if (!producers.length) return json(res, 200, { producers: [] });
          const topics: string[] = [];
          const tombstones: boolean[] = [];
          for (const p of producers)
            (p.topics ?? []).forEach((t, i) => {
              const at = topics.indexOf(t);
              if (at < 0) {
                topics.push(t);
                tombstones.push(p.tombstones?.[i] ?? false);
              } else tombstones[at] = tombstones[at]! && (p.tombstones?.[i] ?? false);
            });
          return json(res, 200, { producers: [{ ...self(producers[0]!.version ?? ""), tombstones, topics }] });
        }
      }
    } catch (e) {
      if (!res.headersSent) nsqError(res, 502, `BAD_SERVICE_ANSWER ${reason(e)}`);
      else res.destroy();
    }
  };
}
