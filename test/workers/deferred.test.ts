// Deferred publishing: DPUB over V2 and /pub?defer= over HTTP deliver after their delay, not
// before, and count as deferred in /stats meanwhile.
import { describe, expect, it } from "vitest";
import { unique } from "../helpers/workers";
import {
  admin,
  channelStats,
  closeClientsAfterEach,
  cmd,
  consumer,
  dpubV2,
  eventually,
  expectSilence,
  producer,
  pubHttp,
  receive,
  sleep,
  text,
  topicStats,
} from "../helpers/semantics";

closeClientsAfterEach();

describe("deferred publish", () => {
  it("DPUB delivers after its delay and not before; deferred_count meanwhile", async () => {
    const topic = unique("dpub");
    const c = await consumer(topic, "ch", 10);
    const p = await producer();
    const t0 = Date.now();
    await dpubV2(p, topic, 1000, "deferred");
    // A plain message published after it is not held back.
    p.send(cmd.pub(topic, "now"));
    expect(await p.response()).toBe("OK");
    const [first] = await receive(c, 1, { fin: true });
    expect(text(first)).toBe("now");
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ deferred_count: 1, depth: 0, in_flight_count: 0 });
    }, 700);
    await expectSilence(c, Math.max(0, 500 - (Date.now() - t0)));
    const [m] = await receive(c, 1, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(text(m)).toBe("deferred");
    expect(m.attempts).toBe(1);
    c.send(cmd.fin(m.id));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ deferred_count: 0, depth: 0, in_flight_count: 0, message_count: 2 });
    });
  });

  it("/pub?defer= delivers after its delay and not before; deferred_count meanwhile", async () => {
    const topic = unique("httpdefer");
    const c = await consumer(topic, "ch", 10);
    const t0 = Date.now();
    await pubHttp(topic, "deferred", "&defer=1000");
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ deferred_count: 1, depth: 0, in_flight_count: 0 });
    }, 700);
    await expectSilence(c, Math.max(0, 500 - (Date.now() - t0)));
    const [m] = await receive(c, 1, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(text(m)).toBe("deferred");
    expect(m.attempts).toBe(1);
    c.send(cmd.fin(m.id));
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ deferred_count: 0, depth: 0, in_flight_count: 0 });
    });
  });

  it("a deferred message waits in every channel, whenever its consumers come", async () => {
    const topic = unique("dpubfan");
    const a = await consumer(topic, "a", 10);
    // b: no consumer until before the message is due; c: a consumer without RDY until after.
    await admin("/channel/create", topic, "b");
    const c = await consumer(topic, "c", 0);
    const t0 = Date.now();
    await pubHttp(topic, "deferred", "&defer=1000");
    await eventually(async () => {
      const t = await topicStats(topic);
      expect(t!.channels.map((ch) => [ch.channel_name, ch.deferred_count, ch.depth])).toEqual([
        ["a", 1, 0], ["b", 1, 0], ["c", 1, 0],
      ]);
    }, 700);
    await sleep(Math.max(0, 300 - (Date.now() - t0)));
    const b = await consumer(topic, "b", 1);
    await Promise.all([expectSilence(b, 500 - (Date.now() - t0)), expectSilence(c, 500 - (Date.now() - t0))]);

    const [[ma], [mb]] = await Promise.all([
      receive(a, 1, { fin: true, timeoutMs: 3000 }),
      receive(b, 1, { fin: true, timeoutMs: 3000 }),
    ]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(text(ma)).toBe("deferred");
    expect(mb.id).toBe(ma.id);
    // c's consumer only now says RDY: the message, due since, comes at once.
    await eventually(async () => expect(await channelStats(topic, "c")).toMatchObject({ deferred_count: 0, depth: 1 }));
    await expectSilence(c, 100);
    c.send(cmd.rdy(1));
    const [mc] = await receive(c, 1, { fin: true, timeoutMs: 1000 });
    expect(mc.id).toBe(ma.id);
    expect(mc.attempts).toBe(1);
  });
});
