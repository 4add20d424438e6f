// Helpers for tests that run inside workerd against the Worker (SELF) and its objects.
import { SELF } from "cloudflare:test";
import type { Stats } from "../../src/stats";
import { TestClient } from "./v2client";

/**
 * Opens a V2 connection: a WebSocket to /ws, as a client of the service would. With `named`,
 * the channel it will SUB goes in the URL (`/ws?topic=&channel=`, the client library's
 * servedByChannel): the channel's object serves the session (src/v2/channel-session.ts).
 */
export async function connect(named?: { topic: string; channel: string }): Promise<TestClient> {
  const query = named ? `?topic=${encodeURIComponent(named.topic)}&channel=${encodeURIComponent(named.channel)}` : "";
  const res = await SELF.fetch(`http://nsq.test/ws${query}`, { headers: { Upgrade: "websocket" } });
  const ws = res.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${res.status}`);
  ws.binaryType = "arraybuffer";
  ws.accept();
  return new TestClient(ws as never);
}

/** An HTTP request to the Worker; `path` includes the query string. */
export function http(path: string, init?: RequestInit): Promise<Response> {
  return SELF.fetch(`http://nsq.test${path}`, init);
}

export const post = (path: string, body?: BodyInit) => http(path, { method: "POST", body });

/** A fresh topic name per test: storage is shared by the tests of one file. */
export const unique = (prefix = "t") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** The /stats document as nsqd's format=json has it: memory unless include_mem=false, no producers. */
export type StatsDoc = Stats & { memory?: Record<string, number>; producers: null };

/** GET /stats?format=json; `query` is more query string (e.g. "&topic=t"). */
export async function statsJson(query = ""): Promise<StatsDoc> {
  const res = await http(`/stats?format=json${query}`);
  return res.json();
}
