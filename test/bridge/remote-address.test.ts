// Each client's own address in the service's /stats, as nsqd shows its TCP peers: through the
// bridge's TCP port and its nsqd HTTP forwarder's /ws, the client's real ip:port; straight to
// the service (npm start's socket passes no peer address), the IP alone.
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { Bridge, channelStats, eventually, serviceUrl, unique } from "./helpers";

let bridge: Bridge;
const open: { close(): void }[] = [];

beforeAll(async () => {
  bridge = await Bridge.open(serviceUrl());
});
afterAll(async () => {
  for (const c of open) c.close();
  await bridge?.stop();
});

const sub = (topic: string, channel: string) => Buffer.from(`  V2SUB ${topic} ${channel}\n`);

/** A raw TCP client of the bridge, subscribed; resolves to its local port once SUB is answered. */
async function tcpClient(topic: string, channel: string): Promise<number> {
  const s = net.connect(bridge.tcpPort, "127.0.0.1");
  open.push({ close: () => s.destroy() });
  await new Promise<void>((r) => s.once("connect", () => r()));
  const answered = new Promise<void>((r) => s.once("data", () => r()));
  s.write(sub(topic, channel));
  await answered;
  return s.localPort!;
}

/** A WebSocket client of `url`, subscribed, sending `headers` on the upgrade. */
async function wsClient(url: string, topic: string, channel: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  open.push({ close: () => ws.terminate() });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const answered = new Promise<void>((r) => ws.once("message", () => r()));
  ws.send(sub(topic, channel));
  await answered;
  return (ws as unknown as { _socket: net.Socket })._socket.localPort!;
}

const addresses = async (topic: string, channel: string, n: number): Promise<string[]> =>
  eventually(async () => {
    const clients = (await channelStats(serviceUrl(), topic, channel))?.clients ?? [];
    expect(clients).toHaveLength(n);
    return clients.map((c: any) => c.remote_address as string).sort();
  }, 15_000);

it("two TCP clients of the bridge show their own, distinct ports", async () => {
  const topic = unique("addr");
  const ports = [await tcpClient(topic, "ch"), await tcpClient(topic, "ch")];
  expect(ports[0]).not.toBe(ports[1]);
  expect(await addresses(topic, "ch", 2)).toEqual(ports.map((p) => `127.0.0.1:${p}`).sort());
});

it("a WebSocket client through the bridge's nsqd HTTP port shows its own port, whatever it claims", async () => {
  const topic = unique("addr-ws");
  const port = await wsClient(`ws://127.0.0.1:${bridge.httpPort}/ws`, topic, "ch", { "X-NSQ-Remote-Address": "10.9.9.9:9999" });
  expect(await addresses(topic, "ch", 1)).toEqual([`127.0.0.1:${port}`]);
});

it("a WebSocket client straight to the service (npm start): its own address and port, from the server's socket", async () => {
  const topic = unique("addr-direct");
  const port = await wsClient(`${serviceUrl().replace(/^http/, "ws").replace(/\/$/, "")}/ws`, topic, "ch");
  expect(await addresses(topic, "ch", 1)).toEqual([`127.0.0.1:${port}`]);
});
