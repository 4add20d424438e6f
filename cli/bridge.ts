// `nsq-edge bridge`: existing NSQ clients and tools, unchanged, against nsq-edge.
//   127.0.0.1:4150  nsqd's TCP port: each connection relayed as one WebSocket to the service's /ws
//                   (the client's ip:port reported in X-NSQ-Remote-Address, for its /stats)
//   127.0.0.1:4161  nsqlookupd's HTTP API, advertising the bridge as the producer
//   127.0.0.1:4151  nsqd's HTTP API forwarded to a remote service (skipped when the service
//                   itself is there, or with --no-http)
import http from "node:http";
import net from "node:net";
import { hostname } from "node:os";
import { CommandError, UsageError, interrupted, parse, preflight, service, serviceHelp, serviceOptions, type Service } from "./common.js";
import { forwarder } from "./forward.js";
import { lookupdHandler } from "./bridge-lookupd.js";
import { relay } from "./relay.js";

export const help = `usage: nsq-edge bridge [--url URL] [--token T] [options]

Lets existing NSQ clients and tools (go-nsq, pynsq, nsqjs, nsq_tail, nsq_stat, to_nsq, ...) use
an nsq-edge service unchanged: point them at 127.0.0.1:4150 (nsqd TCP) or 127.0.0.1:4161
(nsqlookupd HTTP).

  nsqd TCP         each connection is relayed as one WebSocket to URL/ws, both ways, with
                   backpressure; closing either side closes the other
  nsqlookupd HTTP  /lookup /nodes /topics /channels /ping /info answered from the service,
                   with this bridge as the producer (broadcast address, TCP port, HTTP port);
                   POST /topic/create /channel/create create on the service, /topic/delete
                   /topic/tombstone /channel/delete answer 200 and keep every message (nsqadmin
                   then deletes through the nsqd HTTP API)
  nsqd HTTP        forwarded to the service (skipped when the service itself is on that
                   address, or with --no-http)

Auth: with --token, every WebSocket to URL/ws and every request to the service carries it (an
HTTP request that has its own Authorization header keeps that one instead). Without --token,
clients authenticate themselves: a TCP client's AUTH (go-nsq's AuthSecret, nsqjs's authSecret)
and an HTTP client's Authorization header reach the service unchanged.

options:
${serviceHelp}
  --tcp-address HOST:PORT          nsqd TCP listener (default 127.0.0.1:4150; port 0: any)
  --lookupd-http-address HOST:PORT nsqlookupd HTTP listener (default 127.0.0.1:4161)
  --http-address HOST:PORT         nsqd HTTP listener (default 127.0.0.1:4151)
  --no-http                        do not serve the nsqd HTTP API
  --broadcast-address ADDR         the address /lookup advertises (default: the TCP listener's
                                   host, or this machine's hostname if that is 0.0.0.0 or ::)
  -h, --help                       this help

The service must answer GET /ping at start (exit 1 otherwise). Stop with Ctrl-C.`;

interface Address {
  host: string;
  port: number;
}

/** "127.0.0.1:4150", ":4150", "4150", "[::1]:4150" */
export function address(flag: string, text: string, defaultHost: string): Address {
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected HOST:PORT, not ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`${flag}: port ${port} is out of range`);
  const host = (m[1] || defaultHost).replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
const isWildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";
const show = (a: Address) => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

function listen(server: net.Server, at: Address, what: string): Promise<Address> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new CommandError(`cannot listen on ${show(at)} (${what}): ${e.code === "EADDRINUSE" ? "address already in use" : e.message}`));
    server.once("error", onError);
    server.listen(at.port, at.host, () => {
      server.off("error", onError);
      const a = server.address() as net.AddressInfo;
      resolve({ host: at.host, port: a.port });
    });
  });
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...serviceOptions,
      "tcp-address": { type: "string", default: "127.0.0.1:4150" },
      "lookupd-http-address": { type: "string", default: "127.0.0.1:4161" },
      "http-address": { type: "string", default: "127.0.0.1:4151" },
      "no-http": { type: "boolean", default: false },
      "broadcast-address": { type: "string" },
    },
    true,
  );
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const svc = service(values);
  const tcpAt = address("--tcp-address", values["tcp-address"], "127.0.0.1");
  const lookupdAt = address("--lookupd-http-address", values["lookupd-http-address"], "127.0.0.1");
  const httpAt = address("--http-address", values["http-address"], "127.0.0.1");
  const target = new URL(svc.base);
  const servicePort = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  const serviceIsLocal = isLoopback(target.hostname);
  const serviceIsThere = serviceIsLocal && servicePort === httpAt.port && (isLoopback(httpAt.host) || isWildcard(httpAt.host));
  const forwardHttp = !values["no-http"] && !serviceIsThere;

  // /ping only: without --token the clients bring their own credentials, so none is needed here.
  await preflight(svc, true);

  const log = (line: string) => console.error(`nsq-edge bridge: ${line}`);
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };

  const advertised = { broadcastAddress: "", tcpPort: 0, httpPort: 0 };
  const tcp = net.createServer({ allowHalfOpen: true }, (socket) => {
    track(socket);
    relay(socket, { wsUrl: svc.wsUrl, headers: svc.headers, log });
  });
  const lookupd = http.createServer(lookupdHandler(svc, () => advertised));
  lookupd.on("connection", track);
  const servers: net.Server[] = [tcp, lookupd];
  let fwd: ReturnType<typeof forwarder> | null = null;
  let nsqdHttp: http.Server | null = null;
  if (forwardHttp) {
    fwd = forwarder(svc, log);
    nsqdHttp = http.createServer(fwd.onRequest);
    nsqdHttp.on("upgrade", fwd.onUpgrade);
    nsqdHttp.on("connection", track);
    servers.push(nsqdHttp);
  }

  const closeAll = () => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    fwd?.close();
  };

  let tcpBound: Address, lookupdBound: Address, httpBound: Address | null = null;
  try {
    tcpBound = await listen(tcp, tcpAt, "nsqd TCP");
    lookupdBound = await listen(lookupd, lookupdAt, "nsqlookupd HTTP");
    if (nsqdHttp) httpBound = await listen(nsqdHttp, httpAt, "nsqd HTTP");
  } catch (e) {
    closeAll();
    throw e;
  }

  advertised.broadcastAddress = values["broadcast-address"] ?? (isWildcard(tcpBound.host) ? hostname() : tcpBound.host);
  advertised.tcpPort = tcpBound.port;
  advertised.httpPort = httpBound ? httpBound.port : serviceIsLocal ? servicePort : httpAt.port;

  console.log(describe(svc, tcpBound, lookupdBound, httpBound, advertised, values["no-http"] ? "disabled (--no-http)" : serviceIsThere ? `the service itself, ${svc.base}` : ""));

  await interrupted();
  closeAll();
  return 0;
}

function describe(svc: Service, tcp: Address, lookupd: Address, http: Address | null, adv: { broadcastAddress: string; tcpPort: number; httpPort: number }, httpNote: string): string {
  return [
    `nsq-edge bridge to ${svc.base}${svc.token ? " (with a token)" : ""}`,
    `  nsqd TCP         ${show(tcp)} -> ${svc.wsUrl} (one WebSocket per connection)`,
    `  nsqlookupd HTTP  ${show(lookupd)} (producer ${adv.broadcastAddress}:${adv.tcpPort}, http_port ${adv.httpPort})`,
    http ? `  nsqd HTTP        ${show(http)} -> ${svc.base}` : `  nsqd HTTP        ${httpNote}`,
  ].join("\n");
}
