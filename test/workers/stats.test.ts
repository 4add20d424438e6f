// /stats after some activity: topic, channel and client figures (nsqd's TopicStats,
// ChannelStats and ClientV2Stats fields).
import { expect, it } from "vitest";
import { statsJson, unique } from "../helpers/workers";
import {
  closeClientsAfterEach,
  cmd,
  consumer,
  eventually,
  mpubHttp,
  receive,
  topicStats,
} from "../helpers/semantics";

closeClientsAfterEach();

it("reports depth, in-flight, message and client counts, and each client's IDENTIFY and counters", async () => {
  const topic = unique("stats");
  const c = await consumer(topic, "ch", 3, {
    client_id: "stats-client",
    hostname: "stats-host",
    user_agent: "semantics-test/1.0",
    msg_timeout: 30_000,
  });
  const idle = await consumer(topic, "ch", 0, { client_id: "idle-client", user_agent: "idle/2" });
  await mpubHttp(topic, ["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"]);
  const first = await receive(c, 3);
  c.send(cmd.fin(first[0].id));
  const [fourth] = await receive(c, 1);
  c.send(cmd.req(first[1].id, 0));
  const [redelivered] = await receive(c, 1);
  expect(redelivered.id).toBe(first[1].id);
  expect(redelivered.attempts).toBe(2);
  expect(fourth.attempts).toBe(1);
  // Now: m0 finished; m1 (again), m2, m3 in flight; m4, m5 queued.

  const t = await eventually(async () => {
    const t = await topicStats(topic);
    const cl = t!.channels[0].clients!.find((x) => x.client_id === "stats-client");
    expect(cl!.requeue_count).toBe(1);
    return t;
  });
  expect(t).toMatchObject({
    topic_name: topic,
    depth: 0,
    backend_depth: 0,
    message_count: 6,
    message_bytes: 24,
    paused: false,
  });
  expect(t!.channels).toHaveLength(1);
  const ch = t!.channels[0];
  expect(ch).toMatchObject({
    channel_name: "ch",
    depth: 2,
    in_flight_count: 3,
    deferred_count: 0,
    message_count: 6,
    requeue_count: 1,
    timeout_count: 0,
    client_count: 2,
    paused: false,
  });
  expect(ch.clients).toHaveLength(2);
  const active = ch.clients!.find((x) => x.client_id === "stats-client");
  expect(active).toMatchObject({
    client_id: "stats-client",
    hostname: "stats-host",
    user_agent: "semantics-test/1.0",
    version: "V2",
    state: 3,
    ready_count: 3,
    in_flight_count: 3,
    message_count: 5,
    finish_count: 1,
    requeue_count: 1,
    sample_rate: 0,
  });
  expect(typeof active!.connect_ts).toBe("number");
  expect(Math.abs(active!.connect_ts - Date.now() / 1000)).toBeLessThan(60);
  const other = ch.clients!.find((x) => x.client_id === "idle-client");
  expect(other).toMatchObject({
    user_agent: "idle/2",
    ready_count: 0,
    in_flight_count: 0,
    message_count: 0,
    finish_count: 0,
    requeue_count: 0,
  });

  // After everything is finished: nothing in flight or queued; counters keep their totals.
  idle.close();
  c.send(cmd.rdy(10));
  const rest = await receive(c, 2);
  for (const m of [redelivered, first[2], fourth, ...rest]) c.send(cmd.fin(m.id));
  await eventually(async () => {
    const t = await topicStats(topic);
    expect(t).toMatchObject({ depth: 0, message_count: 6 });
    expect(t!.channels[0]).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 6, requeue_count: 1, client_count: 1 });
    expect(t!.channels[0].clients![0]).toMatchObject({
      client_id: "stats-client", ready_count: 10, in_flight_count: 0, message_count: 7, finish_count: 6,
    });
  });

  // The whole document, unfiltered, lists the topic too.
  const all = await statsJson();
  expect(all).toMatchObject({ health: "OK" });
  expect(all.topics!.map((x) => x.topic_name)).toContain(topic);
});
