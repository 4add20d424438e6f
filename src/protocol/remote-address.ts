// A V2 client's remote_address, as nsqd reports its TCP peer ("ip:port", "[v6]:port"), from what
// the /ws upgrade request tells about the client; and the header in which `nsq-edge bridge`
// (cli/relay.ts, cli/forward.ts) reports the client it relays.
//
// Sources, and how far each is trusted:
// - `CF-Connecting-IP`: on Cloudflare the edge sets it from the TCP peer and overwrites any value
//   a client sends, so it is the client's real IP (the coming auth's remote_ip must come from
//   here). Miniflare's entry worker (wrangler dev) sets it from the real peer too.
// - `X-NSQ-Remote-Address` (REMOTE_ADDRESS_HEADER): what `nsq-edge bridge` reports about the TCP
//   client it relays ("ip:port"). Any client can send it, so it never replaces the IP above:
//   with CF-Connecting-IP only its port is taken (the bridge's client connection, which tells
//   clients behind one bridge apart, as a NAT's ports do). Without CF-Connecting-IP (local
//   serving, no auth) it is taken whole if the peer is unknown or on loopback (a local bridge).
// - `request.cf.clientIp`: plain workerd, on a socket without a cf-blob header, puts the peer's
//   "ip:port" there. Miniflare's direct sockets (npm start) set that header, so there it is
//   absent, and no peer address reaches the Worker at all.
// When no port is known the address is the IP alone (never ":0", which reads as a port); when
// nothing is known, 127.0.0.1, local serving's default listener.
//
// A dedicated header rather than X-Forwarded-For or Forwarded: X-Forwarded-For has no port and
// Cloudflare appends to it, and both are chains that any proxy on the way may extend; this one
// names a single thing, the NSQ TCP client behind a bridge, and only the bridge sets it.

export const REMOTE_ADDRESS_HEADER = "X-NSQ-Remote-Address";

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/;

/** An IP as nsqd prints it before ":port" (IPv6 in brackets); null if it is not an IP. */
function host(ip: string): string | null {
  const bare = ip.trim().replace(/^\[(.*)\]$/, "$1");
  if (IPV4.test(bare)) return bare;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (IPV6.test(bare) && bare.length <= 45) return `[${bare.toLowerCase()}]`;
  return null;
}

/** "ip", "ip:port", "[v6]", "[v6]:port" or a bare v6 parsed; null if malformed. */
export function parseAddress(text: string | null | undefined): { host: string; port: number | null } | null {
  if (typeof text !== "string") return null;
  const t = text.trim();
  const m = t.startsWith("[") ? /^(\[[^\]]+\])(?::(\d{1,5}))?$/.exec(t)
    : t.indexOf(":") !== t.lastIndexOf(":") ? [t, t, undefined]
    : /^([^:]+)(?::(\d{1,5}))?$/.exec(t);
  if (!m) return null;
  const h = host(m[1]!);
  const port = m[2] === undefined ? null : Number(m[2]);
  if (h === null || (port !== null && (port < 1 || port > 65535))) return null;
  return { host: h, port };
}

const show = (a: { host: string; port: number | null }) => (a.port === null ? a.host : `${a.host}:${a.port}`);

/** A socket's peer as nsqd prints one (Go's JoinHostPort; IPv4-mapped IPv6 as IPv4): what the bridge sends. */
export function formatPeer(ip: string | undefined, port: number | undefined): string | null {
  const h = ip === undefined ? null : host(ip);
  return h === null || !port ? null : show({ host: h, port });
}
/** The host part alone, as Go's SplitHostPort gives it (no brackets): nsqd's default client_id and hostname. */
export function hostOf(address: string): string {
  return (parseAddress(address)?.host ?? address).replace(/^\[(.*)\]$/, "$1");
}

const isLoopback = (h: string) => /^127\./.test(h) || h === "[::1]";

export function remoteAddress(req: Request): string {
  const bridged = parseAddress(req.headers.get(REMOTE_ADDRESS_HEADER));
  const edgeIp = host(req.headers.get("cf-connecting-ip") ?? "");
  if (edgeIp !== null) return show({ host: edgeIp, port: bridged?.port ?? null });
  const peer = parseAddress((req as { cf?: { clientIp?: unknown } }).cf?.clientIp as string | undefined);
  // A bridge's report is taken from a bridge on this machine, or when the peer is unknown.
  if (bridged?.port != null && (peer === null || isLoopback(peer.host))) return show(bridged);
  if (peer) return show(peer);
  return "127.0.0.1";
}
