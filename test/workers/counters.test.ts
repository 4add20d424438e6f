// /stats' counters of topics and channels survive the end of their objects (eviction, a crash,
// a restart): they are written with the messages they count, so a restarted object reports
// what it reported before, and a topic never shows fewer messages than one of its channels.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import type { ChannelStats } from "../../src/stats";
import { channelStub, topicStub } from "../../src/stubs";
import {
  admin,
  channelStats,
  closeClientsAfterEach,
  cmd,
  consumer,
  eventually,
  mpubHttp,
  receive,
  topicStats,
} from "../helpers/semantics";
import { post, unique } from "../helpers/workers";

closeClientsAfterEach();

/**
 * Ends the object as eviction or a crash would: the next call starts a new instance on its
 * storage. `stub` makes a new stub each time (one that saw the abort stays broken).
 */
async function restart(stub: () => unknown) {
  const mark = Symbol("old instance");
  await run(stub(), (instance) => {
    instance[mark] = true;
  });
  await run(stub(), (_, state) => state.abort("restart")).catch(() => {});
  expect(await run(stub(), (instance) => instance[mark] === true)).toBe(false);
}

// (Typed loosely: the objects' RPC types are too deep for the checker here.)
const run = runInDurableObject as unknown as <R>(stub: unknown, fn: (instance: any, state: DurableObjectState) => R) => Promise<R>;

const topicOf = (topic: string) => () => topicStub(env as unknown as Env, topic);
const channelOf = (topic: string, channel: string) => () => channelStub(env as unknown as Env, topic, channel);

const counters = (ch: ChannelStats) => ({
  message_count: ch.message_count,
  requeue_count: ch.requeue_count,
  timeout_count: ch.timeout_count,
  depth: ch.depth,
  deferred_count: ch.deferred_count,
});

const messages = (from: number, n: number) => Array.from({ length: n }, (_, i) => `message ${from + i}`);

describe("counters after a restart", () => {
  it("keeps a channel's message, requeue and timeout counts and its topic's message count and bytes", async () => {
    const topic = unique("count");
    const c = await consumer(topic, "ch", 5, { msg_timeout: 1000 });
    await mpubHttp(topic, messages(0, 30));
    const [m0, m1, m2, m3] = await receive(c, 5);
    // Nothing more goes out; two REQs (deferred a minute), two FINs, and one times out.
    c.send(cmd.rdy(0), cmd.req(m0.id, 60_000), cmd.req(m1.id, 60_000), cmd.fin(m2.id), cmd.fin(m3.id));
    const before = await eventually(async () => {
      const ch = await channelStats(topic, "ch");
      expect(counters(ch!)).toEqual({ message_count: 30, requeue_count: 2, timeout_count: 1, depth: 26, deferred_count: 2 });
      expect(ch!.in_flight_count).toBe(0);
      return ch;
    }, 5000);
    c.close();
    const topicBefore = await topicStats(topic);
    expect(topicBefore!.message_count).toBe(30);
    expect(topicBefore!.message_bytes).toBe(messages(0, 30).join("").length);

    await restart(channelOf(topic, "ch"));
    await restart(topicOf(topic));
    const after = await topicStats(topic);
    expect(after!.message_count).toBe(30);
    expect(after!.message_bytes).toBe(topicBefore!.message_bytes);
    expect(counters(after!.channels[0])).toEqual(counters(before!));

    // Counting goes on from there, and the topic's count is stored with the new messages.
    await mpubHttp(topic, messages(30, 5));
    await restart(topicOf(topic));
    await restart(channelOf(topic, "ch"));
    const again = await topicStats(topic);
    expect(again!.message_count).toBe(35);
    expect(again!.channels[0].message_count).toBe(35);
    expect(again!.channels[0].depth).toBe(31);
  });

  it("keeps a channel-less topic's count, and its channel's once the backlog moves there", async () => {
    const topic = unique("count-backlog");
    await mpubHttp(topic, messages(0, 7));
    await restart(topicOf(topic));
    expect((await topicStats(topic))!.message_count).toBe(7);

    expect((await post(`/channel/create?topic=${topic}&channel=ch`)).status).toBe(200);
    await eventually(async () => expect((await channelStats(topic, "ch"))!.depth).toBe(7));
    await restart(topicOf(topic));
    await restart(channelOf(topic, "ch"));
    const t = await topicStats(topic);
    expect(t!.message_count).toBe(7);
    expect(t!.depth).toBe(0);
    expect(t!.channels[0]).toMatchObject({ message_count: 7, depth: 7 });
  });

  it("keeps a topic's count when the channels that held its copy are deleted", async () => {
    const topic = unique("count-deleted");
    expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
    expect((await post(`/channel/create?topic=${topic}&channel=ch`)).status).toBe(200);
    await mpubHttp(topic, messages(0, 4));
    await restart(topicOf(topic));
    await admin("/channel/delete", topic, "ch");
    await restart(topicOf(topic));
    expect((await topicStats(topic))!.message_count).toBe(4);
  });
});
