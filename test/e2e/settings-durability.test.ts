// Dead letters and dedup across a SIGKILL of the whole service (node and workerd).
//
//   1. 2,000 messages on a channel with max_attempts 1, a consumer REQing each: the service is
//      killed while dead letters move. After the restart every message is in exactly one place,
//      the channel or the dead-letter topic: none lost. A move retried after the kill is stored
//      once by its key, except when the kill falls between the dead-letter topic storing a batch
//      and remembering its keys: such copies are counted and reported (expected 0 or rare).
//   2. An idempotency key stored before the kill still makes a repeat a duplicate after it.
import { afterEach, expect, it } from "vitest";
import type { Stats, ChannelStats } from "../../src/stats";
import { cmd, text, type TestClient } from "../helpers/v2client";
import { eventually } from "../helpers/wait";
import { Service } from "./service";

let svc: Service | null = null;
afterEach(async () => {
  await svc?.stop();
  svc = null;
});

async function ok(res: Promise<Response>) {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(200);
  return r;
}

async function channel(s: Service, topic: string, ch: string): Promise<ChannelStats | undefined> {
  const stats = (await (await s.fetch(`/stats?format=json&topic=${topic}&include_clients=false`)).json()) as Stats;
  return stats.topics?.[0]?.channels.find((c) => c.channel_name === ch);
}

/** Receives every message the channel has, FINishing each; returns the bodies. */
async function drainAll(s: Service, topic: string, ch: string, expected: number): Promise<string[]> {
  const c: TestClient = await s.connect();
  await c.subscribe(topic, ch, 500);
  const got: string[] = [];
  try {
    while (got.length < expected) {
      const f = await c.maybeNext(3000);
      if (f === null) break;
      if (f.type !== 2) continue;
      const m = (await import("../../src/protocol/frames")).decodeMessage(f.data);
      got.push(text(m));
      c.send(cmd.fin(m.id));
    }
  } finally {
    c.close();
  }
  return got;
}

it("dead letters moving at a SIGKILL: none lost after the restart, copies in both places counted", { timeout: 180_000 }, async () => {
  svc = await Service.create();
  const s = svc;
  const topic = "orders";
  const dead = "orders.dead";
  const N = 2000;
  await ok(s.fetch(`/topic/create?topic=${topic}`, { method: "POST" }));
  await ok(s.fetch(`/channel/create?topic=${topic}&channel=c`, { method: "POST" }));
  await ok(s.fetch(`/channel/config?topic=${topic}&channel=c`, { method: "POST", body: '{"max_attempts":1}' }));
  await ok(s.fetch(`/topic/create?topic=${dead}`, { method: "POST" }));
  await ok(s.fetch(`/channel/create?topic=${dead}&channel=inspect`, { method: "POST" }));
  const bodies = Array.from({ length: N }, (_, i) => `order-${i}`);
  for (let i = 0; i < N; i += 500) await ok(s.fetch(`/mpub?topic=${topic}`, { method: "POST", body: bodies.slice(i, i + 500).join("\n") }));

  // A consumer REQs everything: each REQ buries its message, the mover hands them on in batches.
  const c = await s.connect();
  await c.subscribe(topic, "c", 200);
  let reqd = 0;
  const consuming = (async () => {
    for (;;) {
      const f = await c.maybeNext(2000).catch(() => null);
      if (f === null) return;
      if (f.type !== 2) continue;
      const m = (await import("../../src/protocol/frames")).decodeMessage(f.data);
      c.send(cmd.req(m.id, 0));
      reqd++;
    }
  })();
  // Kill once a quarter have moved, while more are buried and on their way.
  await eventually(async () => expect((await channel(s, dead, "inspect"))?.depth ?? 0).toBeGreaterThan(N / 4), 60_000, 5);
  await s.kill();
  await consuming;
  console.log(`dead letters at the kill: ${reqd} REQs sent`);

  await s.start();
  // The channel object starts its mover again when anything touches it (here /stats).
  const settled = await eventually(
    async () => {
      const [a, b] = [await channel(s, topic, "c"), await channel(s, dead, "inspect")];
      const total = a!.depth + a!.in_flight_count + a!.deferred_count + b!.depth;
      expect(total).toBeGreaterThanOrEqual(N);
      return { left: a!.depth, moved: b!.depth };
    },
    60_000,
    200,
  );
  const inChannel = await drainAll(s, topic, "c", settled.left);
  const inDead = await drainAll(s, dead, "inspect", settled.moved);
  const seen = new Map<string, number>();
  for (const b of [...inChannel, ...inDead]) seen.set(b, (seen.get(b) ?? 0) + 1);
  const lost = bodies.filter((b) => !seen.has(b));
  const twice = [...seen.values()].filter((n) => n > 1).length;
  console.log(`after the restart: ${inChannel.length} still in the channel, ${inDead.length} in ${dead}, ${twice} in both or twice, ${lost.length} lost`);
  expect(lost).toEqual([]);
  expect(inChannel.length + inDead.length - twice).toBe(N);
  // Never both in the channel and dead: the bury is one commit with the message leaving.
  const inBoth = inChannel.filter((b) => inDead.includes(b));
  expect(inBoth).toEqual([]);
});

it("an idempotency key stored before a SIGKILL still dedups after the restart", { timeout: 120_000 }, async () => {
  svc = await Service.create();
  const s = svc;
  await ok(s.fetch(`/topic/create?topic=inv`, { method: "POST" }));
  await ok(s.fetch(`/channel/create?topic=inv&channel=c`, { method: "POST" }));
  await ok(s.fetch(`/topic/config?topic=inv`, { method: "POST", body: '{"dedup_window":"1h"}' }));
  await ok(s.fetch(`/pub?topic=inv`, { method: "POST", body: "invoice 1", headers: { "Idempotency-Key": "inv-1" } }));
  await s.kill();
  await s.start();
  await ok(s.fetch(`/pub?topic=inv`, { method: "POST", body: "invoice 1", headers: { "Idempotency-Key": "inv-1" } }));
  await ok(s.fetch(`/pub?topic=inv`, { method: "POST", body: "invoice 2", headers: { "Idempotency-Key": "inv-2" } }));
  const ch = await channel(s, "inv", "c");
  expect(ch).toMatchObject({ depth: 2, message_count: 2 });
});
