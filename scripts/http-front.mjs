// The local server's listening socket: reads each request head as nsqd's Go net/http would, answers
// what Go refuses (with Go's own replies) and passes everything else, byte for byte, to workerd.
//
// Why: workerd's HTTP parser (kj-http) differs from Go's where a client errs, before the Worker
// sees anything, so the Worker cannot answer as nsqd does:
// - a method outside kj's fixed list (FOO, lowercase get, CONNECT) is 501 (CONNECT: 500);
//   nsqd's router answers 405 on a known path and 404 elsewhere. Such a method goes on as
//   STAND_IN, which the Worker routes nowhere, so it gets the Worker's own 405 or 404.
// - a bad Content-Length (-1, abc, +5, "5, 5", two headers) or Transfer-Encoding (gzip,
//   identity) is 500; Go answers 400, or 501 "Unsupported transfer encoding". Two identical
//   Content-Length headers, which Go accepts, go on as one.
// - bytes that are no HTTP (an NSQ TCP client sent to this port: "  V2IDENTIFY\n...") are held
//   until a blank line or kj's 15 s header timeout, then the connection is closed without a
//   word; Go answers "HTTP/1.1 400 Bad Request" as soon as the first line is complete, which
//   go-nsq reports as "unexpected HTTP response".
// Every request head of a connection is checked until the connection is upgraded (WebSocket) or
// sends a chunked body, after which its bytes are only passed on.
import net from "node:net";

/** kj-http's methods (kj/compat/http.h); CONNECT is handled apart and ends in workerd's 500. */
const KJ_METHODS = new Set(
  "GET HEAD POST PUT DELETE PATCH PURGE OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH UNLOCK ACL REPORT MKACTIVITY CHECKOUT MERGE MSEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE".split(" "),
);
/** A method kj parses that no route of the Worker takes: it answers it as nsqd any unrouted method. */
const STAND_IN = "MKACTIVITY";
/** Go's http.DefaultMaxHeaderBytes, with the 4096 bytes of slack its server adds. */
const MAX_HEAD = (1 << 20) + 4096;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_INT63 = 2n ** 63n - 1n;

/** Go's replies to a request it cannot read (net/http server.go): plain text, then close. */
const goError = (status, text) =>
  `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${text}`;
const BAD_REQUEST = goError("400 Bad Request", "400 Bad Request");
const TOO_LARGE = goError("431 Request Header Fields Too Large", "431 Request Header Fields Too Large");
const BAD_TE = goError("501 Not Implemented", "Unsupported transfer encoding");
const BAD_VERSION = goError(
  "505 HTTP Version Not Supported: unsupported protocol version",
  "505 HTTP Version Not Supported: unsupported protocol version",
);

/** Go's check of a request line ("METHOD target HTTP/1.x"): null if fine, else the reply. */
export function checkRequestLine(line) {
  const first = line.indexOf(" ");
  const second = first < 0 ? -1 : line.indexOf(" ", first + 1);
  if (second < 0) return BAD_REQUEST;
  const method = line.slice(0, first);
  const target = line.slice(first + 1, second);
  const proto = line.slice(second + 1);
  if (!TOKEN.test(method)) return BAD_REQUEST;
  if (!/^HTTP\/\d\.\d$/.test(proto)) return BAD_REQUEST;
  if (proto[5] !== "1") return BAD_VERSION;
  // Go's url.ParseRequestURI: a path, "*", or an absolute URL.
  if (!(target.startsWith("/") || target === "*" || /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S/.test(target))) return BAD_REQUEST;
  return null;
}

/**
 * Checks a complete request head (latin1 text without its blank line). Returns { reply } to
 * refuse it, or { head, body }: the head to pass on (rewritten if needed) and how its body is
 * framed (a byte count, or "rest" when the connection's later bytes are only passed on).
 */
export function checkHead(text, peer = null) {
  const lines = text.split(/\r?\n/);
  const bad = checkRequestLine(lines[0]);
  if (bad) return { reply: bad };
  const lengths = [];
  const encodings = [];
  let upgrade = false;
  let reported = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line[0] === " " || line[0] === "\t") continue; // an obsolete folded continuation
    const colon = line.indexOf(":");
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return { reply: BAD_REQUEST };
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-length") lengths.push([i, value]);
    else if (name === "transfer-encoding") encodings.push(value);
    else if (name === "upgrade") upgrade = true;
    else if (name === REMOTE_ADDRESS) reported = i;
  }
  let rewrite = false;
  // The client's address (src/protocol/remote-address.ts): for a WebSocket, /stats shows it; for
  // every request, auth asks with it as remote_ip. The real peer, unless the peer is on this
  // machine: a bridge there reports the NSQ TCP client it relays, and a plain local request
  // needs no rewrite (the Worker takes 127.0.0.1).
  if (peer && (isLoopback(peer) ? upgrade && reported < 0 : true)) {
    if (reported >= 0) lines[reported] = null;
    lines.push(`X-NSQ-Remote-Address: ${peer}`);
    rewrite = true;
  }
  const method = lines[0].slice(0, lines[0].indexOf(" "));
  if (!KJ_METHODS.has(method)) {
    lines[0] = STAND_IN + lines[0].slice(method.length);
    rewrite = true;
  }
  let body = 0;
  // Go's transfer.go: Transfer-Encoding (HTTP/1.1) must be one "chunked", and then the length is ignored.
  if (encodings.length > 0 && !lines[0].endsWith("HTTP/1.0")) {
    if (encodings.length !== 1 || encodings[0].toLowerCase() !== "chunked") return { reply: BAD_TE };
    body = "rest";
  } else if (lengths.length > 0) {
    const value = lengths[0][1];
    if (lengths.some(([, v]) => v !== value)) return { reply: BAD_REQUEST };
    if (!/^\d+$/.test(value) || BigInt(value) > MAX_INT63) return { reply: BAD_REQUEST };
    body = Number(value);
    if (lengths.length > 1) {
      // kj would join them into "n, n" and fail on it.
      for (const [i] of lengths.slice(1)) lines[i] = null;
      rewrite = true;
    }
  }
  if (upgrade) body = "rest";
  const head = rewrite ? lines.filter((l) => l !== null).join("\r\n") + "\r\n\r\n" : null;
  return { head, body };
}

const REMOTE_ADDRESS = "x-nsq-remote-address";
const isLoopback = (peer) => peer.startsWith("127.") || peer.startsWith("[::1]");

/** A socket's peer as Go prints it (JoinHostPort; IPv4-mapped IPv6 as IPv4), or null. */
export function peerOf(socket) {
  const ip = socket.remoteAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  if (!ip || !socket.remotePort) return null;
  return ip.includes(":") ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
}

/** The end of a head (after its blank line) in `buf`, or -1: "\r\n\r\n" or bare "\n\n", as Go accepts. */
function headEnd(buf) {
  const crlf = buf.indexOf("\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf < 0) return lf < 0 ? -1 : lf + 2;
  return lf < 0 || crlf < lf ? crlf + 3 : lf + 2;
}

/** One client connection, its upstream opened with its first good request. */
function serve(client, target) {
  const peer = peerOf(client);
  let upstream = null;
  let pending = null; // bytes of an incomplete head
  let bodyLeft = 0;
  let passOn = false; // upgraded or chunked: no more heads to read
  let refused = false;

  const open = () => {
    upstream = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    upstream.on("data", (d) => {
      if (!client.write(d)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    upstream.on("end", () => client.end(refused || undefined));
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.writableEnded || client.destroy());
  };
  const send = (bytes) => {
    if (!upstream) open();
    if (!upstream.write(bytes)) {
      client.pause();
      upstream.once("drain", () => client.resume());
    }
  };
  /** Go's reply once workerd has answered what came before (it closes after our half-close). */
  const refuse = (reply) => {
    refused = reply;
    // What else the client sends is dropped (closing on unread bytes would reset the connection
    // and could lose the reply); it has a second to read the reply and go.
    client.removeAllListeners("data");
    client.on("data", () => {});
    setTimeout(() => client.destroy(), 1000).unref();
    if (upstream) upstream.end();
    else client.end(reply);
  };

  client.on("data", (chunk) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    while (buf.length > 0) {
      if (passOn) return send(buf);
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, buf.length);
        send(n === buf.length ? buf : buf.subarray(0, n));
        bodyLeft -= n;
        buf = buf.subarray(n);
        continue;
      }
      const end = headEnd(buf);
      if (end < 0) {
        // Go refuses a bad request line as soon as it is complete, without waiting for the head.
        const nl = buf.indexOf("\n");
        const bad = nl >= 0 && checkRequestLine(buf.toString("latin1", 0, nl).replace(/\r$/, ""));
        if (bad) return refuse(bad);
        if (buf.length > MAX_HEAD) return refuse(TOO_LARGE);
        pending = buf;
        return;
      }
      if (end > MAX_HEAD) return refuse(TOO_LARGE);
      const raw = buf.subarray(0, end);
      const result = checkHead(raw.toString("latin1").replace(/\r?\n\r?\n$/, ""), peer);
      if (result.reply) return refuse(result.reply);
      send(result.head === null ? raw : Buffer.from(result.head, "latin1"));
      if (result.body === "rest") passOn = true;
      else bodyLeft = result.body;
      buf = buf.subarray(end);
    }
  });
  client.on("end", () => (upstream ? upstream.end() : client.end()));
  client.on("error", () => upstream?.destroy());
  client.on("close", () => upstream?.destroy());
}

/** Listens on host:port and serves each connection through to workerd's socket at `target` (a URL). */
export async function httpFront({ host, port, target }) {
  const server = net.createServer({ noDelay: true }, (client) => serve(client, target));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return server;
}
