// Segments: the topic packs messages once, a channel stores each segment as one row with a
// bitmap of done messages, and removes the row when all are done.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
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
    const half = await tables(topic, "c");
    expect(half.acks).toBeGreaterThan(0);
    expect(half.segments).toBe(stored.segments);
    expect((await statsJson(`&topic=${topic}`)).topics[0].channels[0].in_flight_count).toBe(1750);

    c.send(...first.filter((_, i) => i % 2 === 1).map((m) => cmd.fin(m.id)));
    c.send(...rest.map((m) => cmd.fin(m.id)));
    expect(new Set([...first, ...rest].map(text)).size).toBe(3000);
    await eventually(async () => expect(await tables(topic, "c")).toEqual({ segments: 0, acks: 0, rows: 0 }));
    expect((await statsJson(`&topic=${topic}`)).topics[0].channels[0].depth).toBe(0);
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

  it("takes a late retry that fills a gap below stored segments, once per message", async () => {
    const topic = await setup("seg-retry");
    const channel = channelStub(env as unknown as Env, topic, "c");
    await channel.push(packSegments(batch(0, 30)));
    await channel.push(packSegments(batch(40, 50)));
    await channel.push(packSegments(batch(25, 45))); // 25-29 and 40-44 stored, 30-39 missing
    await channel.push(packSegments(batch(0, 50))); // all stored
    expect((await statsJson(`&topic=${topic}`)).topics[0].channels[0].depth).toBe(50);

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
