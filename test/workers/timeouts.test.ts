// Time in the life of a message: the in-flight timeout, REQ (now and deferred), TOUCH, the
// requeue of a departed consumer's messages, and attempts counting. (DPUB: deferred.test.ts.)
// msg_timeout's minimum is 1000 ms, so these waits are about a second each.
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import {
  channelStats,
  closeClientsAfterEach,
  cmd,
  consumer,
  eventually,
  expectSilence,
  pubHttp,
  receive,
  text,
} from "../helpers/semantics";

closeClientsAfterEach();

describe("in-flight timeout", () => {
  it("delivers a message again after msg_timeout, same id, attempts 2; counts timeout_count", async () => {
    const topic = unique("timeout");
    const c = await consumer(topic, "ch", 1, { msg_timeout: 1000 });
    await pubHttp(topic, "slow");
    const [m] = await receive(c, 1);
    const t0 = Date.now();
    expect(m.attempts).toBe(1);
    expect(await channelStats(topic, "ch")).toMatchObject({ in_flight_count: 1, timeout_count: 0 });

    await expectSilence(c, 700);
    const [again] = await receive(c, 1, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(again.id).toBe(m.id);
    expect(again.attempts).toBe(2);
    expect(text(again)).toBe("slow");
    expect(again.timestamp).toBe(m.timestamp);

    const ch = await channelStats(topic, "ch");
    expect(ch).toMatchObject({ timeout_count: 1, requeue_count: 0, in_flight_count: 1, message_count: 1, depth: 0 });
    expect(ch!.clients![0]).toMatchObject({ in_flight_count: 1, message_count: 2, finish_count: 0 });

    // The old delivery's FIN is the new one's (same id, same client): it works.
    c.send(cmd.fin(again.id));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ in_flight_count: 0, depth: 0, timeout_count: 1 });
    });
    await expectSilence(c, 200);
  });
});

describe("REQ", () => {
  it("REQ 0 redelivers at once with attempts + 1, counting attempts on each delivery", async () => {
    const topic = unique("req0");
    const c = await consumer(topic, "ch", 1);
    await pubHttp(topic, "again");
    let [m] = await receive(c, 1);
    const id = m.id;
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(m.id).toBe(id);
      expect(m.attempts).toBe(attempt);
      if (attempt === 4) break;
      c.send(cmd.req(m.id, 0));
      [m] = await receive(c, 1, { timeoutMs: 1000 });
    }
    const ch = await channelStats(topic, "ch");
    expect(ch).toMatchObject({ requeue_count: 3, deferred_count: 0, timeout_count: 0, in_flight_count: 1, message_count: 1 });
    expect(ch!.clients![0]).toMatchObject({ requeue_count: 3, message_count: 4, in_flight_count: 1 });
    c.send(cmd.fin(m.id));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ in_flight_count: 0, depth: 0 });
    });
  });

  it("REQ with a delay redelivers after about that delay, not before, deferred meanwhile", async () => {
    const topic = unique("reqdelay");
    const c = await consumer(topic, "ch", 1);
    await pubHttp(topic, "later");
    const [m] = await receive(c, 1);
    const t0 = Date.now();
    c.send(cmd.req(m.id, 1000));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({
        deferred_count: 1, requeue_count: 1, in_flight_count: 0, depth: 0,
      });
    }, 700);
    await expectSilence(c, Math.max(0, 500 - (Date.now() - t0)));
    const [again] = await receive(c, 1, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(again.id).toBe(m.id);
    expect(again.attempts).toBe(2);
    expect(await channelStats(topic, "ch")).toMatchObject({ deferred_count: 0, in_flight_count: 1, requeue_count: 1 });
    c.send(cmd.fin(again.id));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ in_flight_count: 0, depth: 0 });
    });
  });
});

describe("TOUCH", () => {
  it("extends the in-flight deadline by msg_timeout; FIN afterwards works", async () => {
    const topic = unique("touch");
    const c = await consumer(topic, "ch", 1, { msg_timeout: 1000 });
    await pubHttp(topic, "long job");
    const [m] = await receive(c, 1);
    const t0 = Date.now();
    // Touches at ~0.5s and ~1s (each well before the deadline it extends).
    await expectSilence(c, 500);
    c.send(cmd.touch(m.id));
    await expectSilence(c, 500);
    c.send(cmd.touch(m.id));
    // Up to ~1.6s after delivery: well past the untouched 1s deadline, not redelivered.
    await expectSilence(c, Math.max(0, 1600 - (Date.now() - t0)));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(await channelStats(topic, "ch")).toMatchObject({ in_flight_count: 1, timeout_count: 0 });
    c.send(cmd.fin(m.id));
    // No E_FIN_FAILED: the message was still in flight to this client.
    await expectSilence(c, 300);
    expect(await channelStats(topic, "ch")).toMatchObject({
      in_flight_count: 0, depth: 0, timeout_count: 0, requeue_count: 0,
    });

    // By msg_timeout from the TOUCH, not for good: left alone after it, the message times out then.
    await pubHttp(topic, "touched once");
    const [n] = await receive(c, 1);
    await expectSilence(c, 500);
    c.send(cmd.touch(n.id));
    const touched = Date.now();
    const [again] = await receive(c, 1, { timeoutMs: 3000 });
    // (The untouched deadline was ~500 ms after the TOUCH.)
    expect(Date.now() - touched).toBeGreaterThanOrEqual(900);
    expect([again.id, again.attempts]).toEqual([n.id, 2]);
    c.send(cmd.fin(again.id));
    await eventually(async () => expect(await channelStats(topic, "ch")).toMatchObject({ in_flight_count: 0, timeout_count: 1 }));
  });
});

describe("disconnect", () => {
  it("requeues a departed consumer's in-flight messages at once to another consumer", async () => {
    const topic = unique("disc");
    const a = await consumer(topic, "ch", 2);
    await pubHttp(topic, "one");
    await pubHttp(topic, "two");
    const got = await receive(a, 2);
    const b = await consumer(topic, "ch", 5);
    await eventually(async () => {
      expect((await channelStats(topic, "ch"))!.clients!.map((c) => c.ready_count).sort()).toEqual([2, 5]);
    });
    await expectSilence(b, 200);

    const t0 = Date.now();
    a.close();
    // msg_timeout is the default 60s: these come from the disconnect, not from a timeout.
    const again = await receive(b, 2, { fin: true, timeoutMs: 2000 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(again.map((m) => m.id).sort()).toEqual(got.map((m) => m.id).sort());
    expect(again.map(text).sort()).toEqual(["one", "two"]);
    for (const m of again) expect(m.attempts).toBe(2);
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({
        client_count: 1, in_flight_count: 0, depth: 0, timeout_count: 0,
      });
    });
  });
});
