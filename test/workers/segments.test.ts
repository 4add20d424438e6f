// Segments: the topic packs messages once, a channel stores each segment as one row with a
// bitmap of done messages, and removes the row when all are done.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import type { ChannelObject } from "../../durable-objects/channel";
import { decodeMessage, FRAME_MESSAGE } from "../../src/protocol/frames";
import { packSegments, SEGMENT_DEFERRED, segmentHeader, unpackSegment } from "../../src/segment";
import { channelStub } from "../../src/stubs";
import { cmd, text } from "../helpers/v2client";
import { connect, post, statsJson, unique } from "../helpers/workers";
import { eventually } from "../helpers/wait";

const bytes = (s: string) => new TextEncoder().encode(s);
const batch = (from: number, to: number, defer = 0) => {
  const ids = Array.from({ length: to - from }, (_, i) => 1_000_000 + from + i);
  return {
    ids,
    ts: ids.map(() => Date.now()),
    defers: ids.map(() => defer),
    bodies: ids.map((id) => bytes(`m${id}`)),
  };
};

describe("packSegments / unpackSegment", () => {
  it("round-trips ids, timestamps, delays and bodies", () => {
    const b = { ids: [1, 2 ** 52 + 3], ts: [1700000000123, 1700000000456], defers: [0, 0], bodies: [bytes("a"), new Uint8Array(0)] };
    const [seg, ...rest] = packSegments(b);
    expect(rest).toEqual([]);
    const u = unpackSegment(seg);
    expect(u.count).toBe(2);
    expect(u.flags).toBe(0);
    expect(u.ids).toEqual(b.ids);
    expect(u.ts).toEqual(b.ts);
    expect(u.bodies.map((x) => [...x])).toEqual([[97], []]);
    expect(segmentHeader(seg)).toEqual({ count: 2, flags: 0, first: 1, last: 2 ** 52 + 3 });
  });

  it("splits by message count and by size; a message larger than a segment gets one alone", () => {
    expect(packSegments(batch(0, 10), 1 << 20, 4).map((s) => segmentHeader(s).count)).toEqual([4, 4, 2]);
    const big = { ids: [1, 2, 3], ts: [0, 0, 0], bodies: [new Uint8Array(10), new Uint8Array(500), new Uint8Array(10)] };
    expect(packSegments(big, 100).map((s) => unpackSegment(s).bodies.map((x) => x.length))).toEqual([[10], [500], [10]]);
  });

  it("keeps delays longer than 32 bits of milliseconds", () => {
    const b = batch(0, 1, 60 * 24 * 3_600_000); // 60 days
    expect(unpackSegment(packSegments(b)[0]).defers).toEqual([60 * 24 * 3_600_000]);
  });

  it("puts deferred messages in flagged segments of their own, in order", () => {
    const b = batch(0, 5);
    b.defers = [0, 0, 100, 100, 0];
    const segs = packSegments(b).map(unpackSegment);
    expect(segs.map((s) => [s.flags, s.ids.length])).toEqual([[0, 2], [SEGMENT_DEFERRED, 2], [0, 1]]);
    expect(segs[1].defers).toEqual([100, 100]);
  });
});

/** The channel's tables, read inside its object. */
async function tables(topic: string, channel: string) {
  const stub = channelStub(env as unknown as Env, topic, channel);
  return runInDurableObject(stub as never, (_: unknown, state: DurableObjectState) => {
    const n = (q: string) => state.storage.sql.exec<{ n: number }>(q).one().n;
    return {
      segments: n(`SELECT COUNT(*) AS n FROM segments`),
      acks: n(`SELECT COUNT(*) AS n FROM acks`),
      rows: n(`SELECT COUNT(*) AS n FROM messages`),
    };
  });
}

async function setup(prefix: string) {
  const topic = unique(prefix);
  expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
  expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
  return topic;
}

describe("a channel's segments", () => {
  it("stores a publish as a few rows, keeps a bitmap of FINs, and drops the rows when all are done", async () => {
    const topic = await setup("seg");
    const body = Array.from({ length: 3000 }, (_, i) => `message ${i}`).join("\n");
    expect((await post(`/mpub?topic=${topic}`, body)).status).toBe(200);
    const stored = await tables(topic, "c");
    expect(stored.rows).toBe(0);
    expect(stored.segments).toBeGreaterThan(0);
    expect(stored.segments).toBeLessThanOrEqual(10);

    const c = await connect();
    await c.subscribe(topic, "c", 2500);
    const first = await c.messages(2500);
    // FIN every other message: each touched segment gets a bitmap, none can go yet. The spare
    // RDY brings the last 500.
    c.send(...first.filter((_, i) => i % 2 === 0).map((m) => cmd.fin(m.id)));
    const rest = await c.messages(500);
    // FINs alone are written within ACK_DELAY_MS.
    const half = await eventually(async () => {
      const t = await tables(topic, "c");
      expect(t.acks).toBeGreaterThan(0);
      return t;
    });
    expect(half.segments).toBe(stored.segments);
    expect((await statsJson(`&topic=${topic}`)).topics![0].channels[0].in_flight_count).toBe(1750);

    c.send(...first.filter((_, i) => i % 2 === 1).map((m) => cmd.fin(m.id)));
    c.send(...rest.map((m) => cmd.fin(m.id)));
    expect(new Set([...first, ...rest].map(text)).size).toBe(3000);
    await eventually(async () => expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 0 }));
    expect((await statsJson(`&topic=${topic}`)).topics![0].channels[0].depth).toBe(0);
    c.close();
  });

  it("moves a requeued message to a row of its own that keeps its attempts", async () => {
    const topic = await setup("seg-req");
    expect((await post(`/mpub?topic=${topic}`, "a\nb\nc")).status).toBe(200);
    const c = await connect();
    await c.subscribe(topic, "c", 10);
    const [a, b, cc] = await c.messages(3);
    c.send(cmd.fin(a.id), cmd.req(b.id, 0), cmd.fin(cc.id));
    const again = await c.message();
    expect(text(again)).toBe("b");
    expect(again.attempts).toBe(2);
    // The segment went (all its messages done or moved); the requeued one is a row.
    expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 1 });
    c.send(cmd.fin(again.id));
    await eventually(async () => expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 0 }));
    c.close();
  });

  it("sends every message it takes when consumers have different spare RDY", async () => {
    // The even share of a consumer with little spare RDY goes to the others.
    const topic = await setup("seg-share");
    const a = await connect();
    const b = await connect();
    await a.subscribe(topic, "c", 10);
    await b.subscribe(topic, "c", 1);
    const body = Array.from({ length: 40 }, (_, i) => `m${i}`).join("\n");
    expect((await post(`/mpub?topic=${topic}`, body)).status).toBe(200);
    const got: string[] = [];
    const deadline = Date.now() + 10_000;
    while (got.length < 40 && Date.now() < deadline) {
      for (const c of [a, b]) {
        const m = await c.maybeNext(50);
        if (m && m.type === FRAME_MESSAGE) {
          const msg = decodeMessage(m.data);
          got.push(text(msg));
          c.send(cmd.fin(msg.id));
        }
      }
    }
    expect(got.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
    await eventually(async () => expect((await statsJson(`&topic=${topic}`)).topics![0].channels[0].depth).toBe(0));
    a.close();
    b.close();
  });

  it("changes nothing when a push fails midway; its retry is stored once", async () => {
    const topic = await setup("seg-fail");
    const channel = channelStub(env as unknown as Env, topic, "c");
    // The second segment is not a segment: the push fails after the first was stored.
    const failed = await runInDurableObject(channel as never, (instance) => {
      try {
        (instance as unknown as ChannelObject).push([...packSegments(batch(0, 5)), new Uint8Array(2)]);
        return "stored";
      } catch (e) {
        return String(e);
      }
    });
    expect(failed).toMatch(/RangeError/);
    expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 0 });
    await channel.push(packSegments(batch(0, 5)));
    expect((await statsJson(`&topic=${topic}`)).topics![0].channels[0].depth).toBe(5);
    const c = await connect();
    await c.subscribe(topic, "c", 100);
    const got = await c.messages(5);
    expect(got.map(text)).toEqual(batch(0, 5).ids.map((id) => `m${id}`));
    c.send(...got.map((m) => cmd.fin(m.id)));
    expect(await c.maybeNext(300)).toBeNull();
    await eventually(async () => expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 0 }));
    c.close();
  });

  it("takes a late retry that fills a gap below stored segments, once per message", async () => {
    const topic = await setup("seg-retry");
    const channel = channelStub(env as unknown as Env, topic, "c");
    await channel.push(packSegments(batch(0, 30)));
    await channel.push(packSegments(batch(40, 50)));
    await channel.push(packSegments(batch(25, 45))); // 25-29 and 40-44 stored, 30-39 missing
    await channel.push(packSegments(batch(0, 50))); // all stored
    expect((await statsJson(`&topic=${topic}`)).topics![0].channels[0].depth).toBe(50);

    const c = await connect();
    await c.subscribe(topic, "c", 100);
    const got = await c.messages(50);
    expect(got.map(text).sort()).toEqual(batch(0, 50).ids.map((id) => `m${id}`).sort());
    c.send(...got.map((m) => cmd.fin(m.id)));
    expect(await c.maybeNext(300)).toBeNull();
    await eventually(async () => expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 0 }));
    c.close();
  });
});

describe("a topic's backlog and outbox", () => {
  it("hand stored messages to a new channel (backlog) and to a channel that missed them (outbox, by the alarm)", async () => {
    const topic = unique("seg-stored");
    expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
    const stub = (env as unknown as Env).TOPIC.get((env as unknown as Env).TOPIC.idFromName(topic));
    const stored = (from: number) => {
      const ids = [from, from + 1, from + 2];
      return { ids, ts: ids.map(() => Date.now()), bodies: ids.map((i) => bytes(`${from < 10 ? "backlog" : "outbox"} ${i}`)) };
    };
    const after = await runInDurableObject(stub as never, (instance, state: DurableObjectState) => {
      const sql = state.storage.sql;
      for (const data of packSegments(stored(1))) sql.exec(`INSERT INTO backlog_segments (id, count, data) VALUES (1, 3, ?)`, data.buffer as ArrayBuffer);
      for (const data of packSegments(stored(11))) sql.exec(`INSERT INTO outbox_segments (channel, id, count, data) VALUES ('c', 11, 3, ?)`, data.buffer as ArrayBuffer);
      // What the constructor does when the object starts again.
      (instance as unknown as { load(): void }).load();
      const n = (q: string) => sql.exec<{ n: number }>(q).one().n;
      return {
        backlog: n(`SELECT SUM(count) AS n FROM backlog_segments`),
        outbox: n(`SELECT SUM(count) AS n FROM outbox_segments WHERE channel = 'c'`),
      };
    });
    expect(after).toMatchObject({ backlog: 3, outbox: 3 });
    expect((await statsJson(`&topic=${topic}`)).topics![0].depth).toBe(3);

    // The channel gets the backlog when it is created, and the outbox when the alarm retries it.
    const c = await connect();
    await c.subscribe(topic, "c", 10);
    expect((await c.messages(3)).map(text)).toEqual(["backlog 1", "backlog 2", "backlog 3"]);
    expect(await runDurableObjectAlarm(stub as never)).toBe(true);
    expect((await c.messages(3)).map(text).sort()).toEqual(["outbox 11", "outbox 12", "outbox 13"]);
    c.close();
  });
});
