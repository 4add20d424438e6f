// Fan-out to channels, load-balancing within a channel, the channel-less backlog, order and ids.
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
  mpubHttpBinary,
  mpubV2,
  producer,
  pubHttp,
  pubV2,
  receive,
  text,
  topicStats,
} from "../helpers/semantics";
import { FRAME_MESSAGE, decodeMessage, type MessageFrame } from "../../src/protocol/frames";

closeClientsAfterEach();

describe("fan-out", () => {
  it("delivers every message of PUB, MPUB, /pub and /mpub to each channel exactly once", async () => {
    const topic = unique("fanout");
    const a = await consumer(topic, "a", 50);
    const b = await consumer(topic, "b", 50);
    const p = await producer();
    await pubV2(p, topic, "v2-pub");
    await mpubV2(p, topic, ["v2-mpub-1", "v2-mpub-2", "v2-mpub-3"]);
    await pubHttp(topic, "http-pub");
    await mpubHttp(topic, ["http-mpub-1", "http-mpub-2"]);
    await mpubHttpBinary(topic, ["http-bin-1", "http-bin-2"]);
    const expected = [
      "v2-pub", "v2-mpub-1", "v2-mpub-2", "v2-mpub-3", "http-pub",
      "http-mpub-1", "http-mpub-2", "http-bin-1", "http-bin-2",
    ];

    const [got, gotB] = await Promise.all([receive(a, 9, { fin: true }), receive(b, 9, { fin: true })]);
    // A single consumer per channel sees the channel's order, which is publish order.
    expect(bodies(got)).toEqual(expected);
    expect(bodies(gotB)).toEqual(expected);
    // The same message has the same id in both channels (it is the topic's message).
    expect(got.map((m) => m.id)).toEqual(gotB.map((m) => m.id));
    await Promise.all([expectSilence(a, 300), expectSilence(b, 300)]);

    const t = await eventually(async () => {
      const t = await topicStats(topic);
      expect(t!.message_count).toBe(9);
      for (const ch of t!.channels) {
        expect(ch).toMatchObject({ message_count: 9, depth: 0, in_flight_count: 0 });
      }
      return t;
    });
    expect(t!.channels.map((c) => c.channel_name)).toEqual(["a", "b"]);
  });
});

describe("load-balancing", () => {
  it("splits one channel's messages across its consumers, each delivered exactly once", async () => {
    const topic = unique("lb");
    const a = await consumer(topic, "work", 5);
    const b = await consumer(topic, "work", 5);
    await eventually(async () => {
      const ch = await channelStats(topic, "work");
      expect(ch!.clients!.map((c) => c.ready_count)).toEqual([5, 5]);
    });

    const seen: Record<string, string[]> = { a: [], b: [] };
    let total = 0;
    let done = false;
    const drain = async (c: typeof a, name: "a" | "b") => {
      while (!done) {
        const f = await c.maybeNext(50);
        if (f === null) continue;
        expect(f.type).toBe(FRAME_MESSAGE);
        const m = decodeMessage(f.data);
        seen[name].push(text(m));
        total++;
        c.send(cmd.fin(m.id));
      }
    };
    const loops = [drain(a, "a"), drain(b, "b")];
    for (let i = 0; i < 20; i++) await pubHttp(topic, `m${i}`);
    await eventually(() => expect(total).toBe(20), 5000);
    // Anything extra (a duplicate) would show up meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    done = true;
    await Promise.all(loops);

    expect(seen.a.length).toBeGreaterThan(0);
    expect(seen.b.length).toBeGreaterThan(0);
    const all = [...seen.a, ...seen.b].sort();
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    expect(total).toBe(20);
    const ch = await eventually(async () => {
      const ch = await channelStats(topic, "work");
      expect(ch!.in_flight_count).toBe(0);
      return ch;
    });
    expect(ch).toMatchObject({ depth: 0, message_count: 20, requeue_count: 0, timeout_count: 0 });
    expect(ch!.clients!.map((c) => c.finish_count).sort()).toEqual([seen.a.length, seen.b.length].sort());
  });
});

describe("a topic without channels", () => {
  it("keeps its messages until its first channel appears, then delivers them", async () => {
    const topic = unique("nochan");
    await pubHttp(topic, "early-1");
    await mpubHttp(topic, ["early-2", "early-3"]);
    const p = await producer();
    await pubV2(p, topic, "early-4");

    const before = await topicStats(topic);
    expect(before).toMatchObject({ depth: 4, message_count: 4, channels: [] });
    // Nothing is dropped while waiting.
    await new Promise((r) => setTimeout(r, 200));
    expect((await topicStats(topic))!.depth).toBe(4);

    const c = await consumer(topic, "first", 10);
    const got = await receive(c, 4, { fin: true });
    expect(bodies(got)).toEqual(["early-1", "early-2", "early-3", "early-4"]);
    await expectSilence(c, 200);
    await eventually(async () => {
      const t = await topicStats(topic);
      expect(t!.depth).toBe(0);
      expect(t!.channels[0]).toMatchObject({ channel_name: "first", message_count: 4, depth: 0, in_flight_count: 0 });
    });

    // As in nsqd, the backlog went to the channels that existed when it was handed out:
    // a channel created later starts empty, and new messages reach both.
    const late = await consumer(topic, "late", 10);
    await expectSilence(late, 200);
    expect(await channelStats(topic, "late")).toMatchObject({ depth: 0, message_count: 0 });
    await pubHttp(topic, "after");
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["after"]);
    expect(bodies(await receive(late, 1, { fin: true }))).toEqual(["after"]);
  });
});

describe("order and ids", () => {
  it("delivers one MPUB's messages in publish order to a consumer with RDY 1", async () => {
    const topic = unique("order");
    const c = await consumer(topic, "ch", 1);
    const p = await producer();
    const sent = Array.from({ length: 25 }, (_, i) => `msg-${String(i).padStart(2, "0")}-${"x".repeat(i)}`);
    await mpubV2(p, topic, sent);
    const got: MessageFrame[] = [];
    for (let i = 0; i < sent.length; i++) {
      const m = await c.message();
      got.push(m);
      // RDY 1: the next message only follows the FIN of this one.
      c.send(cmd.fin(m.id));
    }
    expect(bodies(got)).toEqual(sent);
    await expectSilence(c, 200);
  });

  it("keeps publish order past the channel's in-memory window (6000 messages read back from storage)", async () => {
    const topic = unique("order-big");
    const c = await consumer(topic, "ch", 0);
    const p = await producer();
    const sent = Array.from({ length: 6000 }, (_, i) => `m${i}`);
    await mpubV2(p, topic, sent.slice(0, 3000));
    await mpubV2(p, topic, sent.slice(3000));
    await eventually(async () => expect((await channelStats(topic, "ch"))!.depth).toBe(6000));
    c.send(cmd.rdy(2500));
    const got: string[] = [];
    while (got.length < sent.length) {
      // RDY 2500: take a full round, then FIN it in one WebSocket message.
      const round = await receive(c, Math.min(2500, sent.length - got.length));
      for (const m of round) got.push(text(m));
      c.send(...round.map((m) => cmd.fin(m.id)));
    }
    expect(got.length).toBe(sent.length);
    // Compare in one go: a mismatch shows the first place it goes wrong.
    const firstWrong = got.findIndex((b, i) => b !== sent[i]);
    expect(firstWrong).toBe(-1);
    await expectSilence(c, 200);
    await eventually(async () => {
      expect(await channelStats(topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 6000 });
    });
  });

  it("gives messages 16 lowercase hex char ids, unique and increasing within a topic, attempts 1", async () => {
    const topic = unique("ids");
    const other = unique("ids-other");
    const c = await consumer(topic, "ch", 1);
    const o = await consumer(other, "ch", 100);
    const p = await producer();
    await mpubV2(p, topic, ["a", "b", "c"]);
    await pubHttp(topic, "d");
    await pubV2(p, topic, "e");
    await mpubHttp(topic, ["f", "g"]);
    await mpubV2(p, other, ["x", "y"]);
    const got: MessageFrame[] = [];
    for (let i = 0; i < 7; i++) {
      const m = await c.message();
      got.push(m);
      c.send(cmd.fin(m.id));
    }
    expect(bodies(got)).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    const ids = got.map((m) => m.id);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(BigInt(`0x${ids[i]}`)).toBeGreaterThan(BigInt(`0x${ids[i - 1]}`));
    for (const m of got) expect(m.attempts).toBe(1);
    // Timestamps are publish times in nanoseconds.
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const m of got) {
      expect(m.timestamp).toBeLessThanOrEqual(now + 1_000_000_000n);
      expect(m.timestamp).toBeGreaterThan(now - 60_000_000_000n);
    }
    const x = await receive(o, 2, { fin: true });
    for (const m of x) expect(m.id).toMatch(/^[0-9a-f]{16}$/);
    expect(x[0].id).not.toBe(x[1].id);
  });
});
