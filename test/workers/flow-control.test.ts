// RDY as the consumer's in-flight limit, and FIN as the end of a message.
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import {
  bodies,
  channelStats,
  closeClientsAfterEach,
  cmd,
  consumer,
  eventually,
  expectSilence,
  mpubHttp,
  pubHttp,
  receive,
} from "../helpers/semantics";

closeClientsAfterEach();

/** Waits until the channel has seen the client's RDY (RDY travels on its own path). */
async function readyCount(topic: string, channel: string, n: number) {
  await eventually(async () => {
    const ch = await channelStats(topic, channel);
    expect(ch!.clients!.map((c) => c.ready_count)).toEqual([n]);
  });
}

describe("RDY", () => {
  it("RDY 0 stops delivery until a later RDY", async () => {
    const topic = unique("rdy0");
    // A subscriber that has not sent RDY yet (nsqd starts it at 0) gets nothing.
    const c = await consumer(topic, "ch", 0);
    await pubHttp(topic, "first");
    await expectSilence(c, 500);
    expect(await channelStats(topic, "ch")).toMatchObject({ depth: 1, in_flight_count: 0 });
    c.send(cmd.rdy(1));
    const [m] = await receive(c, 1, { fin: true });
    expect(m.attempts).toBe(1);

    // RDY 0 after some delivery stops it again.
    c.send(cmd.rdy(0));
    await readyCount(topic, "ch", 0);
    await pubHttp(topic, "second");
    await expectSilence(c, 500);
    expect(await channelStats(topic, "ch")).toMatchObject({ depth: 1, in_flight_count: 0 });
    c.send(cmd.rdy(1));
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["second"]);
  });

  it("RDY n limits the messages in flight to n", async () => {
    const topic = unique("rdyn");
    const c = await consumer(topic, "ch", 3);
    await mpubHttp(topic, ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    const first = await receive(c, 3);
    expect(bodies(first)).toEqual(["m0", "m1", "m2"]);
    await expectSilence(c, 400);
    expect(await channelStats(topic, "ch")).toMatchObject({ depth: 5, in_flight_count: 3 });

    // Two FINs free two slots: exactly two more arrive.
    c.send(cmd.fin(first[0].id), cmd.fin(first[1].id));
    const next = await receive(c, 2);
    expect(bodies(next)).toEqual(["m3", "m4"]);
    await expectSilence(c, 300);
    expect(await channelStats(topic, "ch")).toMatchObject({ depth: 3, in_flight_count: 3 });

    // Raising RDY raises the limit; lowering it below in-flight delivers nothing more.
    c.send(cmd.rdy(5));
    const more = await receive(c, 2);
    expect(bodies(more)).toEqual(["m5", "m6"]);
    await expectSilence(c, 300);
    c.send(cmd.rdy(2));
    await readyCount(topic, "ch", 2);
    for (const m of [first[2], ...next, more[0]]) c.send(cmd.fin(m.id));
    // In flight now 1 (m6) with RDY 2: one more (m7) may go.
    expect(bodies(await receive(c, 1))).toEqual(["m7"]);
    await expectSilence(c, 300);
    expect(await channelStats(topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 2 });
  });
});

describe("FIN", () => {
  it("removes the message for good: no redelivery after the timeout, depth 0", async () => {
    const topic = unique("fin");
    const c = await consumer(topic, "ch", 10, { msg_timeout: 1000 });
    await pubHttp(topic, "done");
    const [m] = await receive(c, 1);
    c.send(cmd.fin(m.id));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0, deferred_count: 0 });
    });
    // Past the 1s msg_timeout: not delivered again, and no error for the FIN.
    await expectSilence(c, 1400);
    const ch = await channelStats(topic, "ch");
    expect(ch).toMatchObject({ depth: 0, in_flight_count: 0, timeout_count: 0, requeue_count: 0, message_count: 1 });
    expect(ch!.clients![0]).toMatchObject({ finish_count: 1, in_flight_count: 0 });

    // A second FIN of the same id fails: it is no longer in flight.
    c.send(cmd.fin(m.id));
    expect(await c.error()).toBe(`E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
  });
});
