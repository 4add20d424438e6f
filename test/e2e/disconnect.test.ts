// A client that dies with its WebSocket open (a killed process: no close frame, 1006): its
// session ends cleanly, with nothing of it left behind in the Worker or the channel.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stats } from "../../src/stats";
import { cmd, text } from "../helpers/v2client";
import { Service } from "./service";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(() => svc?.stop());

/** A consumer in a process of its own that SIGKILLs itself once it holds a message in flight. */
function dyingConsumer(url: string, topic: string): Promise<void> {
  const script = `
    import WebSocket from "ws";
    const ws = new WebSocket(${JSON.stringify(url.replace("http", "ws") + "/ws")});
    ws.on("open", () => ws.send(Buffer.from("  V2SUB ${topic} ch\\nRDY 1\\n")));
    ws.on("message", (d) => { if (d.length > 30) process.kill(process.pid, "SIGKILL"); });
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", () => resolve()));
}

async function channel(topic: string) {
  const stats = (await (await svc.fetch(`/stats?format=json&topic=${topic}&include_clients=true`)).json()) as Stats;
  return stats.topics![0].channels[0];
}

it("a killed consumer: its message is delivered again at once, it leaves /stats, no hung request is logged", async () => {
  const topic = "killed-consumer";
  for (const what of [`topic/create?topic=${topic}`, `channel/create?topic=${topic}&channel=ch`])
    expect((await svc.fetch(`/${what}`, { method: "POST" })).status).toBe(200);
  const died = dyingConsumer(svc.url, topic);
  // Wait for the consumer to be subscribed, then give it a message.
  for (let i = 0; i < 100 && (await channel(topic)).clients!.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await (await svc.fetch(`/pub?topic=${topic}`, { method: "POST", body: "held" })).text()).toBe("OK");
  await died;

  const started = Date.now();
  const c = await svc.connect();
  await c.subscribe(topic, "ch", 1);
  const m = await c.message(5000);
  // Well before the 60 s message timeout: the dead consumer's link went with it.
  expect(Date.now() - started).toBeLessThan(5000);
  expect(text(m)).toBe("held");
  expect(m.attempts).toBe(2);
  c.send(cmd.fin(m.id));

  await new Promise((r) => setTimeout(r, 500));
  const ch = await channel(topic);
  expect(ch.clients).toHaveLength(1);
  expect(ch.in_flight_count).toBe(0);
  c.close();
  await new Promise((r) => setTimeout(r, 500));
  expect(svc.output).not.toMatch(/hung|Uncaught exception/);
});
