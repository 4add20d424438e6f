// nsqlookupd's HTTP API on the bridge (127.0.0.1:4161 by default).
//
// Reads: /lookup, /nodes, /topics, /channels, /ping, /info, answered from the service but with
// the bridge itself as the one producer (broadcast_address, tcp_port of the relay, http_port of
// the nsqd HTTP forwarder), so that go-nsq, pynsq, nsqjs, nsq_tail and nsq_stat configured with a
// lookupd connect through the bridge.
//
// Writes (what nsqadmin calls on its lookupds; its calls to the producer's nsqd HTTP port follow):
//   POST /topic/create, /channel/create   create the topic (and channel) on the service: here a
//       registration is the topic's existence, and nsqadmin's next step, /lookup, must find it
//   POST /topic/delete, /topic/tombstone  200, changing nothing: nsqlookupd forgets a registration
//       (or hides a producer for a while) and leaves the messages to the nsqd, and here dropping
//       the registration would hide a topic that still holds messages. nsqadmin then calls
//       /topic/delete on the producer (the bridge's nsqd HTTP port: the service), which deletes.
//   POST /channel/delete                  likewise (404 CHANNEL_NOT_FOUND for an unknown channel)
// Parameters and errors as nsqlookupd's (MISSING_ARG_TOPIC, INVALID_ARG_TOPIC, MISSING_ARG_NODE,
// ...). Routing answers as nsqlookupd's router does (404 NOT_FOUND, 405 with Allow).
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname } from "node:os";
import type { PeerInfo } from "../src/lookupd-answers.js";
import { isValidName } from "../src/protocol/names.js";
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

const READS = ["/lookup", "/nodes", "/topics", "/channels", "/ping", "/info"];
const WRITES = ["/topic/create", "/topic/delete", "/topic/tombstone", "/channel/create", "/channel/delete"];

/** nsqlookupd's answer to a write: 200, an empty body (no Content-Type). */
function ok(res: ServerResponse) {
  res.writeHead(200, { ...V1, "Content-Length": 0 });
  res.end();
}

/** nsqlookupd's GetTopicChannelArgs: the first error, or null. */
function topicChannelError(q: URLSearchParams): string | null {
  const topic = q.get("topic");
  if (topic === null) return "MISSING_ARG_TOPIC";
  if (!isValidName(topic)) return "INVALID_ARG_TOPIC";
  const channel = q.get("channel");
  if (channel === null) return "MISSING_ARG_CHANNEL";
  if (!isValidName(channel)) return "INVALID_ARG_CHANNEL";
  return null;
}

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

  /**
   * The credentials a request to the service carries: the client's own Authorization header if
   * it sent one (a tool with its own token), else the bridge's --token, else none.
   */
  const credentials = (req: IncomingMessage): Record<string, string> =>
    req.headers.authorization !== undefined ? { Authorization: req.headers.authorization } : svc.headers;

  /** A request to the service (GET unless told); null (and a 502 answered) when it cannot be reached. */
  const upstream = async (res: ServerResponse, creds: Record<string, string>, pathAndQuery: string, method = "GET"): Promise<Response | null> => {
    try {
      return await fetch(svc.base + pathAndQuery, {
        method,
        headers: { ...creds, Accept: "application/vnd.nsq; version=1.0" },
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
    for (const h of ["content-type", "x-nsq-content-type", "www-authenticate"]) {
      const v = up.headers.get(h);
      if (v) headers[h] = v;
    }
    res.writeHead(up.status, headers);
    res.end(body);
  };

  /** POST to the service, answering as nsqlookupd if it succeeds; its error passed on otherwise. */
  const write = async (res: ServerResponse, creds: Record<string, string>, steps: string[]) => {
    for (const step of steps) {
      const up = await upstream(res, creds, step, "POST");
      if (!up) return;
      if (up.status !== 200) return passThrough(res, up);
      await up.arrayBuffer();
    }
    ok(res);
  };

  const writeRoute = async (res: ServerResponse, creds: Record<string, string>, path: string, q: URLSearchParams) => {
    const topic = q.get("topic");
    const enc = encodeURIComponent;
    switch (path) {
      case "/topic/create":
        if (topic === null) return nsqError(res, 400, "MISSING_ARG_TOPIC");
        if (!isValidName(topic)) return nsqError(res, 400, "INVALID_ARG_TOPIC");
        return write(res, creds, [`/topic/create?topic=${enc(topic)}`]);
      case "/channel/create": {
        const err = topicChannelError(q);
        if (err) return nsqError(res, 400, err);
        // nsqlookupd registers the topic along with the channel; nsqd's /channel/create needs it.
        return write(res, creds, [`/topic/create?topic=${enc(topic!)}`, `/channel/create?topic=${enc(topic!)}&channel=${enc(q.get("channel")!)}`]);
      }
      case "/topic/delete":
        if (topic === null) return nsqError(res, 400, "MISSING_ARG_TOPIC");
        return ok(res);
      case "/topic/tombstone":
        if (topic === null) return nsqError(res, 400, "MISSING_ARG_TOPIC");
        if (q.get("node") === null) return nsqError(res, 400, "MISSING_ARG_NODE");
        return ok(res);
      case "/channel/delete": {
        const err = topicChannelError(q);
        if (err) return nsqError(res, 400, err);
        const up = await upstream(res, creds, `/channels?topic=${enc(topic!)}`);
        if (!up) return;
        if (up.status !== 200) return passThrough(res, up);
        const { channels } = (await up.json()) as { channels?: string[] };
        if (!(channels ?? []).includes(q.get("channel")!)) return nsqError(res, 404, "CHANNEL_NOT_FOUND");
        return ok(res);
      }
    }
  };

  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const path = url.pathname;
    const method = READS.includes(path) ? "GET" : WRITES.includes(path) ? "POST" : null;
    if (!method) return nsqError(res, 404, "NOT_FOUND");
    const allow = method === "GET" ? "GET, OPTIONS" : "OPTIONS, POST";
    if (req.method === "OPTIONS") {
      res.writeHead(200, { Allow: allow, "Content-Length": 0 });
      return res.end();
    }
    if (req.method !== method) return nsqError(res, 405, "METHOD_NOT_ALLOWED", { Allow: allow });
    req.resume(); // a body is read and ignored, as nsqlookupd does
    if (method === "POST") {
      try {
        return await writeRoute(res, credentials(req), path, url.searchParams);
      } catch (e) {
        if (!res.headersSent) nsqError(res, 502, `BAD_SERVICE_ANSWER ${reason(e)}`);
        else res.destroy();
        return;
      }
    }

    const up = await upstream(res, credentials(req), path === "/info" ? "/info" : path + url.search);
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
