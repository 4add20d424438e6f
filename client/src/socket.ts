// Opening a WebSocket in whatever runtime this is:
//   - a `connect(url)` function given by the caller (any WebSocket-like object);
//   - a `fetch`-style function (a Worker's service binding, or the global fetch of a Worker):
//     `fetch(httpUrl, { headers: { Upgrade: "websocket" } })` then `res.webSocket.accept()`;
//     in workerd the global fetch is used so by default;
//   - globalThis.WebSocket (browsers, Workers, Deno, Bun, Node 22+);
//   - the `ws` package (Node 20), imported only when needed so that no bundler sees it.
// With an `authSecret`, the upgrade carries `Authorization: Bearer` where the runtime lets it
// (fetch, and `ws` in Node): the service counts it as an AUTH made. A browser's WebSocket
// cannot set headers; the connection then sends the AUTH command after IDENTIFY (connection.ts).
import { ConnectionError, NsqError, refusedError } from "./errors.js";

/** What the library needs of a WebSocket: the standard API (browsers, workerd, `ws`). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | ArrayBuffer | string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  /** `ws` only: closes without the closing handshake. */
  terminate?(): void;
}

/** A WebSocket constructor with the standard signature. */
export type WebSocketConstructor = new (url: string) => SocketLike;

/** Opens a socket yourself: may return it still connecting (the library waits for "open"). */
export type Connect = (url: string) => SocketLike | Promise<SocketLike>;

/**
 * A fetch-style function: a Worker's service binding (`env.NSQ.fetch.bind(env.NSQ)`), a
 * Durable Object stub's fetch, or the Workers global fetch. Used for the lookup API and, when
 * no `connect` is given, for the WebSocket upgrade (`Upgrade: websocket`, answered with a
 * Response carrying `webSocket`).
 */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string> },
) => Promise<{
  status: number;
  ok?: boolean;
  webSocket?: (SocketLike & { accept(): void }) | null;
  json(): Promise<unknown>;
  text(): Promise<string>;
}>;

/** How to reach the server: shared by Producer and Consumer options. */
export interface TransportOptions {
  /** Opens the WebSocket yourself (takes precedence over `fetch` and `WebSocket`). */
  connect?: Connect;
  /** Used for the lookup API and, without `connect`, to open WebSockets by upgrade. */
  fetch?: FetchLike;
  /** The WebSocket class to use instead of globalThis.WebSocket / the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** How long opening a connection (WebSocket, IDENTIFY, AUTH, SUB) may take, in ms. Default 5000. */
  dialTimeout?: number;
  /**
   * The secret for a service with auth on (go-nsq's AuthSecret): sent as `Authorization: Bearer`
   * on /lookup and on the WebSocket upgrade where the runtime can (Workers, Node), else (browsers,
   * `connect`) as the AUTH command when IDENTIFY answers auth_required.
   */
  authSecret?: string;
}

/** The Authorization header for a secret; none for a secret a header cannot carry (it goes by AUTH). */
export function authHeaders(secret: string | undefined): Record<string, string> {
  return secret && /^[\x21-\x7e]+$/.test(secret) ? { Authorization: `Bearer ${secret}` } : {};
}

const OPEN = 1;

/** ws:// and wss:// as http:// and https:// (what fetch takes), and the other way round. */
function httpUrl(url: string): string {
  return url.replace(/^ws(s?):/i, "http$1:");
}
export function wsUrl(url: string): string {
  return url.replace(/^http(s?):/i, "ws$1:");
}

let wsModule: Promise<WebSocketConstructor> | null = null;

/** The `ws` package, for Node 20 (which has no global WebSocket). */
function importWs(): Promise<WebSocketConstructor> {
  // The name is a variable so that bundlers (esbuild, Vite, webpack) leave the import alone.
  const name = "ws";
  wsModule ??= import(/* @vite-ignore */ /* webpackIgnore: true */ name).then(
    (m: { default?: WebSocketConstructor; WebSocket?: WebSocketConstructor }) => {
      const ctor = m.default ?? m.WebSocket;
      if (!ctor) throw new Error("the ws package exports no WebSocket");
      return ctor;
    },
    (e: unknown) => {
      wsModule = null;
      throw new ConnectionError("no WebSocket in this runtime: install the `ws` package or pass `connect`", e);
    },
  );
  return wsModule;
}

/** Node (and runtimes that pose as it): `ws` can send headers on the upgrade. */
function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === "string";
}

/** Cloudflare Workers: outgoing WebSockets are opened with fetch and `Upgrade: websocket`. */
function isWorkerd(): boolean {
  return (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";
}

/** Chooses the WebSocket class: the given one, the global one, or `ws`. */
export async function webSocketClass(opts: TransportOptions): Promise<WebSocketConstructor> {
  if (opts.WebSocket) return opts.WebSocket;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return global ?? importWs();
}

/** Opens a WebSocket to `url` (ws:// or wss://) and resolves once it is open. */
export async function openSocket(url: string, opts: TransportOptions): Promise<SocketLike> {
  const timeoutMs = opts.dialTimeout ?? 5000;
  let socket: SocketLike | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ConnectionError(`timed out opening ${url} after ${timeoutMs} ms`));
      if (socket) destroySocket(socket);
    }, timeoutMs);
  });
  const headers = authHeaders(opts.authSecret);
  const open = async () => {
    if (opts.connect) {
      socket = await opts.connect(url);
    } else if (opts.fetch || (isWorkerd() && !opts.WebSocket)) {
      const fetchFn = opts.fetch ?? ((u, init) => (globalThis as unknown as { fetch: FetchLike }).fetch(u, init));
      const res = await fetchFn(httpUrl(url), { headers: { Upgrade: "websocket", ...headers } });
      const ws = res.webSocket;
      if (!ws) throw upgradeRefused(url, res.status, await res.text().catch(() => ""), !!opts.authSecret);
      ws.accept();
      socket = ws;
    } else {
      // `ws` takes headers in its options (its second argument); a standard WebSocket cannot.
      const wsForHeaders = "Authorization" in headers && !opts.WebSocket && isNode() ? await importWs().catch(() => null) : null;
      if (wsForHeaders) socket = new (wsForHeaders as unknown as new (url: string, options: object) => SocketLike)(url, { headers });
      else socket = new (await webSocketClass(opts))(url);
    }
    socket.binaryType = "arraybuffer";
    if (socket.readyState !== OPEN) await waitOpen(socket, url, !!opts.authSecret);
    return socket;
  };
  try {
    return await Promise.race([open(), timeout]);
  } catch (e) {
    throw e instanceof ConnectionError || e instanceof NsqError ? e : new ConnectionError(`cannot connect to ${url}: ${errorText(e)}`, e);
  } finally {
    clearTimeout(timer);
  }
}

/** A WebSocket upgrade answered with a status rather than the socket: 401 and 403 are AuthErrors. */
function upgradeRefused(url: string, status: number, body: string, withSecret: boolean): Error {
  if (status === 401 || status === 403) return refusedError(`the WebSocket upgrade to ${url}`, status, body, withSecret);
  return new ConnectionError(`${url} answered ${status} to a WebSocket upgrade${body ? `: ${body.slice(0, 300)}` : ""}`);
}

/** `ws` (Node) only: its HTTP answer when the upgrade is refused, as ws otherwise hides the status in a message. */
interface WsRefusal {
  on(event: "unexpected-response", listener: (req: unknown, res: WsResponse) => void): void;
}
interface WsResponse {
  statusCode?: number;
  setEncoding(enc: string): void;
  on(event: "data" | "end" | "error", listener: (chunk?: string) => void): void;
}

function waitOpen(socket: SocketLike, url: string, withSecret: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = socket as unknown as Partial<WsRefusal>;
    if (typeof ws.on === "function")
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        const refuse = () => {
          reject(upgradeRefused(url, res.statusCode ?? 0, body, withSecret));
          destroySocket(socket); // ends the handshake ws left open for this listener
        };
        res.setEncoding("utf8");
        res.on("data", (chunk) => void (body.length < 1000 && (body += chunk ?? "")));
        res.on("end", refuse);
        res.on("error", refuse);
      });
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", (e) =>
      reject(new ConnectionError(`cannot connect to ${url}: ${errorText(e?.error ?? e?.message ?? "error")}`)),
    );
    socket.addEventListener("close", (e) => reject(new ConnectionError(`${url} closed while opening (${e?.code})`)));
  });
}

/** Closes at once: `ws` would otherwise wait up to 30 s for a dead peer's closing handshake. */
export function destroySocket(socket: SocketLike) {
  try {
    if (typeof socket.terminate === "function") socket.terminate();
    else socket.close(1000, "closed");
  } catch {
    // already closed
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  return String(e);
}
