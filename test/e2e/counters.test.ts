// /stats' counters after the service is SIGKILLed and started again on the same state
// directory: topics and channels report what they reported before, and a topic never shows
// fewer messages than its channels.
import { afterEach, expect, it } from "vitest";
import type { Stats } from "../../src/stats";
import { cmd } from "../helpers/v2client";
import { Service } from "./service";
import { eventually } from "../helpers/wait";

let svc: Service | null = null;
afterEach(async () => {
  await svc?.stop();
  svc = null;
});

async function stats(s: Service) {
  const res = await s.fetch(`/stats?format=json`);
  const topics = ((await res.json()) as Stats).topics ?? [];
  return Object.fromEntries(
    topics.map((t) => [
      t.topic_name,
      {
        message_count: t.message_count,
        message_bytes: t.message_bytes,
        depth: t.depth,
        channels: Object.fromEntries(
          t.channels.map((c) => [
            c.channel_name,
            { message_count: c.message_count, requeue_count: c.requeue_count, timeout_count: c.timeout_count, depth: c.depth },
          ]),
        ),
      },
    ]),
  );
}

const body = (n: number) => Array.from({ length: n }, (_, i) => `message ${i}`).join("\n");

it("keeps topic and channel counts across a SIGKILL", async () => {
  const s = (svc = await Service.create());
  expect((await s.fetch(`/topic/create?topic=t`, { method: "POST" })).status).toBe(200);
  expect((await s.fetch(`/channel/create?topic=t&channel=a`, { method: "POST" })).status).toBe(200);
  expect((await s.fetch(`/channel/create?topic=t&channel=b`, { method: "POST" })).status).toBe(200);
  expect((await s.fetch(`/mpub?topic=t`, { method: "POST", body: body(100) })).status).toBe(200);
  expect((await s.fetch(`/mpub?topic=alone`, { method: "POST", body: body(40) })).status).toBe(200);

  // Three REQs deferred for a minute, two FINs, then nothing more in flight.
  const c = await s.connect();
  await c.subscribe("t", "a", 5);
  const got = await c.messages(5);
  c.send(cmd.rdy(0), ...got.slice(0, 3).map((m) => cmd.req(m.id, 60_000)), ...got.slice(3).map((m) => cmd.fin(m.id)));
  const before = await eventually(async () => {
    const st = await stats(s);
    expect(st.t.channels.a).toEqual({ message_count: 100, requeue_count: 3, timeout_count: 0, depth: 95 });
    return st;
  });
  c.close();
  expect(before.t).toMatchObject({ message_count: 100, channels: { b: { message_count: 100, depth: 100 } } });
  expect(before.alone).toMatchObject({ message_count: 40, depth: 40 });

  await s.kill();
  await s.start();
  const after = await stats(s);
  expect(after).toEqual(before);
});
