// The topic retries a batch a channel may already hold (its outbox): the channel stores each
// message once and delivers it once.
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { channelStub } from "../../src/stubs";
import { packSegments } from "../../src/segment";
import type { Env } from "../../src/config";
import { connect, post, statsJson, unique } from "../helpers/workers";
import { cmd, text } from "../helpers/v2client";

const batch = (from: number, to: number) => {
  const ids = Array.from({ length: to - from }, (_, i) => 1_000_000 + from + i);
  return { ids, ts: ids.map(() => Date.now()), bodies: ids.map((id) => new TextEncoder().encode(`m${id}`)) };
};

it("stores and delivers a retried, overlapping batch once per message", async () => {
  const topic = unique("push");
  expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
  expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
  const channel = channelStub(env as unknown as Env, topic, "c");
  await channel.push(packSegments(batch(0, 30)));
  await channel.push(packSegments(batch(10, 40))); // 20 already there, 10 new
  const stats = await statsJson(`&topic=${topic}`);
  expect(stats.topics![0].channels[0].depth).toBe(40);
  expect(stats.topics![0].channels[0].message_count).toBe(40);

  const c = await connect();
  await c.subscribe(topic, "c", 100);
  const got = await c.messages(40);
  expect(new Set(got.map((m) => m.id)).size).toBe(40);
  expect(got.map(text)).toEqual(batch(0, 40).ids.map((id) => `m${id}`));
  c.send(...got.map((m) => cmd.fin(m.id)));
  expect(await c.maybeNext(300)).toBeNull();
  c.close();
});
