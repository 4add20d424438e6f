// Opening a WebSocket in whatever runtime this is:
//   - a `connect(url)` function given by the caller (any WebSocket-like object);
//   - a `fetch`-style function (a Worker's service binding, or the global fetch of a Worker):
//     `fetch(httpUrl, { headers: { Upgrade: "websocket" } })` then `res.webSocket.accept()`;
//     in workerd the global fetch is used so by default;
//   - globalThis.WebSocket (browsers, Workers, Deno, Bun, Node 22+);
//   - the `ws` package (Node 20), imported only when needed so that no bundler sees it.
import { ConnectionError } from "./errors.js";

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
  /** How long opening a connection (WebSocket, IDENTIFY, SUB) may take, in ms. Default 5000. */
  dialTimeout?: number;
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
  const open = async () => {
    if (opts.connect) {
      socket = await opts.connect(url);
    } else if (opts.fetch || (isWorkerd() && !opts.WebSocket)) {
      const fetchFn = opts.fetch ?? ((u, init) => (globalThis as unknown as { fetch: FetchLike }).fetch(u, init));
      const res = await fetchFn(httpUrl(url), { headers: { Upgrade: "websocket" } });
      const ws = res.webSocket;
      if (!ws) throw new ConnectionError(`${url} answered ${res.status} to a WebSocket upgrade`);
      ws.accept();
      socket = ws;
    } else {
      const WS = await webSocketClass(opts);
      socket = new WS(url);
    }
    socket.binaryType = "arraybuffer";
    if (socket.readyState !== OPEN) await waitOpen(socket, url);
    return socket;
  };
  try {
    return await Promise.race([open(), timeout]);
  } catch (e) {
    throw e instanceof ConnectionError ? e : new ConnectionError(`cannot connect to ${url}: ${errorText(e)}`, e);
  } finally {
    clearTimeout(timer);
  }
}

function waitOpen(socket: SocketLike, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
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
