// Acceptance test for "no acknowledged message is ever lost": the service runs as a process,
// is SIGKILLed (node and workerd, no chance to flush) and restarted on the same state directory.
//
//   1. 10,000 messages published (V2 PUB and MPUB over WebSocket, HTTP /pub and /mpub), 3,000
//      of them FINished, 500 more in flight to a consumer at the kill: after the restart every
//      acknowledged message that was not FINished is delivered again, and no FINished one is.
//   2. Publishers running at the moment of the kill: every message that got its OK is there
//      after the restart, in a channel that had a consumer, in one that had none, and in a
//      topic that had no channel (its own backlog).
//
// Duplicates are allowed (at-least-once); they are counted and reported.
import { afterEach, expect, it } from "vitest";
import { FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, decodeMessage, frameText } from "../../src/protocol/frames";
import type { Stats } from "../../src/stats";
import { cmd, type TestClient } from "../helpers/v2client";
import { Service } from "./service";

const RDY = 500;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

// ---- publishing --------------------------------------------------------------------------

/** What a set of publishers did: bodies sent (maybe stored), acknowledged (must be stored). */
class PubLog {
  sent = new Set<string>();
  acked = new Set<string>();
  failures: string[] = [];
}

/** Hands out batches of bodies; a batch of one goes as PUB, a larger one as MPUB. null: done. */
type Feed = () => string[] | null;

/** A feed over a fixed list of bodies. */
function listFeed(bodies: string[], size: number): Feed {
  let at = 0;
  return () => {
    if (at >= bodies.length) return null;
    const out = bodies.slice(at, at + size);
    at += size;
    return out;
  };
}

/** Publishes over one V2 connection, `perWrite` commands per WebSocket message (pipelined). */
async function wsPublisher(svc: Service, topic: string, feed: Feed, perWrite: number, log: PubLog) {
  let c: TestClient;
  try {
    c = await svc.connect();
  } catch (e) {
    log.failures.push(`ws connect: ${e}`);
    return;
  }
  try {
    c.send(cmd.MAGIC_V2);
    for (;;) {
      const batches: string[][] = [];
      while (batches.length < perWrite) {
        const b = feed();
        if (!b) break;
        batches.push(b);
      }
      if (batches.length === 0) break;
      for (const b of batches) for (const body of b) log.sent.add(body);
      c.send(...batches.map((b) => (b.length === 1 ? cmd.pub(topic, b[0]) : cmd.mpub(topic, b))));
      // Responses come back in command order, one per PUB or MPUB.
      for (const b of batches) {
        const f = await c.next(30_000);
        if (f.type !== FRAME_RESPONSE || frameText(f) !== "OK") {
          throw new Error(`${b.length === 1 ? "PUB" : "MPUB"} answered ${f.type === FRAME_ERROR ? "error" : "type " + f.type}: ${frameText(f)}`);
        }
        for (const body of b) log.acked.add(body);
      }
    }
  } catch (e) {
    log.failures.push(`ws: ${e}`);
  } finally {
    c.close();
  }
}

type HttpMode = "pub" | "mpub" | "mpub-binary";

/** Publishes over HTTP, one request at a time; stops at the first failure. */
async function httpPublisher(svc: Service, topic: string, feed: Feed, mode: HttpMode, log: PubLog) {
  for (;;) {
    const b = feed();
    if (!b) return;
    for (const body of b) log.sent.add(body);
    let path: string;
    let payload: string | Uint8Array;
    if (mode === "pub") {
      if (b.length !== 1) throw new Error("/pub takes one body");
      path = `/pub?topic=${topic}`;
      payload = b[0];
    } else if (mode === "mpub") {
      path = `/mpub?topic=${topic}`;
      payload = b.join("\n");
    } else {
      path = `/mpub?topic=${topic}&binary=true`;
      payload = cmd.encodeMpubBody(b.map((s) => encoder.encode(s)));
    }
    try {
      const res = await svc.fetch(path, { method: "POST", body: payload as BodyInit });
      const answer = await res.text();
      if (res.status !== 200 || answer !== "OK") throw new Error(`${res.status} ${answer}`);
      for (const body of b) log.acked.add(body);
    } catch (e) {
      log.failures.push(`http ${mode}: ${e instanceof Error && e.cause ? `${e} (${e.cause})` : e}`);
      return;
    }
  }
}

// ---- consuming ---------------------------------------------------------------------------

/**
 * A V2 consumer with RDY 500 that reads messages as they arrive and FINs those `shouldFin`
 * accepts (the FINs of one burst of frames go in one WebSocket message); the others stay in flight.
 */
class Consumer {
  /** Body -> number of deliveries. */
  received = new Map<string, number>();
  deliveries = 0;
  /** Bodies whose FIN was sent. */
  finished = new Set<string>();
  /** Bodies received and not FINished: in flight to this consumer. */
  held = new Set<string>();
  errors: string[] = [];
  private fins: Uint8Array[] = [];
  private flushing = false;
  private done: Promise<void>;

  private constructor(
    readonly client: TestClient,
    private readonly shouldFin: (body: string, self: Consumer) => boolean,
  ) {
    this.done = this.run();
  }

  static async start(
    svc: Service,
    topic: string,
    channel: string,
    shouldFin: (body: string, self: Consumer) => boolean = () => true,
    rdy = RDY,
  ) {
    const c = await svc.connect();
    await c.subscribe(topic, channel, rdy);
    return new Consumer(c, shouldFin);
  }

  private async run() {
    for (;;) {
      let f;
      try {
        f = await this.client.next(3_600_000);
      } catch (e) {
        if (!this.client.closed) this.errors.push(String(e));
        return;
      }
      if (f.type === FRAME_ERROR) {
        this.errors.push(frameText(f));
        continue;
      }
      if (f.type !== FRAME_MESSAGE) continue;
      const m = decodeMessage(f.data);
      const body = decoder.decode(m.body);
      this.deliveries++;
      this.received.set(body, (this.received.get(body) ?? 0) + 1);
      if (this.shouldFin(body, this)) {
        this.finished.add(body);
        this.held.delete(body);
        this.fins.push(cmd.fin(m.id));
        // Frames already read are handed out without a macrotask in between: one write per burst.
        if (!this.flushing) {
          this.flushing = true;
          setImmediate(() => this.flushFins());
        }
      } else {
        this.held.add(body);
      }
    }
  }

  private flushFins() {
    this.flushing = false;
    if (this.fins.length === 0 || this.client.closed) return;
    const fins = this.fins;
    this.fins = [];
    this.client.send(...fins);
  }

  async close() {
    this.flushFins();
    this.client.close();
    await this.done;
  }

  rdy(count: number) {
    this.client.send(cmd.rdy(count));
  }

  /** Resolves when the connection is gone (after a kill). */
  async gone() {
    await this.done;
  }
}

// ---- observing the service ---------------------------------------------------------------

interface ChannelView {
  topicDepth: number;
  depth: number;
  in_flight_count: number;
  deferred_count: number;
  finish_count: number;
  client_count: number;
}

async function channelView(svc: Service, topic: string, channel: string): Promise<ChannelView | null> {
  const res = await svc.fetch(`/stats?format=json&topic=${topic}&channel=${channel}`);
  const doc = (await res.json()) as Stats;
  const t = doc.topics?.find((x) => x.topic_name === topic);
  const ch = t?.channels.find((x) => x.channel_name === channel);
  if (!t || !ch) return null;
  let finish = 0;
  for (const cl of ch.clients ?? []) finish += cl.finish_count;
  return {
    topicDepth: t.depth,
    depth: ch.depth,
    in_flight_count: ch.in_flight_count,
    deferred_count: ch.deferred_count,
    finish_count: finish,
    client_count: ch.client_count,
  };
}

async function waitFor(what: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * After the restart: consumes the channel, FINning everything, until every expected body has
 * come and the channel (and its topic's backlog) is empty with nothing in flight; or, when
 * something expected is missing, until it has stayed empty for EMPTY_GRACE_MS (a lost message).
 */
const EMPTY_GRACE_MS = 3000;
async function drain(svc: Service, topic: string, channel: string, expected: Set<string>, timeoutMs: number) {
  const consumer = await Consumer.start(svc, topic, channel);
  const allSeen = () => {
    for (const b of expected) if (!consumer.received.has(b)) return false;
    return true;
  };
  let emptySince = Infinity;
  let empty = false;
  await waitFor(
    async () => {
      if (consumer.errors.length) return true;
      const v = await channelView(svc, topic, channel);
      empty = v !== null && v.topicDepth === 0 && v.depth === 0 && v.in_flight_count === 0 && v.deferred_count === 0;
      if (!empty) emptySince = Infinity;
      else if (emptySince === Infinity) emptySince = Date.now();
      return empty && (allSeen() || Date.now() - emptySince >= EMPTY_GRACE_MS);
    },
    timeoutMs,
    100,
  );
  await consumer.close();
  return { consumer, empty };
}

const sample = (xs: Iterable<string>) => {
  const all = [...xs];
  return { count: all.length, first: all.slice(0, 10) };
};
const none = { count: 0, first: [] };

function duplicates(c: Consumer): number {
  return c.deliveries - c.received.size;
}

const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

// ---- tests -------------------------------------------------------------------------------

let svc: Service | undefined;
afterEach(async () => {
  await svc?.stop();
  svc = undefined;
});

it("loses no acknowledged message to a SIGKILL: unFINished ones come back, FINished ones do not", async () => {
  const t0 = Date.now();
  const topic = "durable";
  const channel = "work";
  const TOTAL = 10_000;
  const FINISH = 3_000;
  svc = await Service.create();
  const s = svc;

  // The channel exists before the first publish: the consumer's SUB creates it (RDY 0 for now).
  const consumer = await Consumer.start(s, topic, channel, (_, self) => self.finished.size < FINISH, 0);

  // 10,000 unique bodies, split over the four ways to publish, all running at once.
  const bodies = Array.from({ length: TOTAL }, (_, i) => `m-${i}`);
  const parts = { wsPub: bodies.slice(0, 1500), wsMpub: bodies.slice(1500, 5000), httpPub: bodies.slice(5000, 6000), httpMpub: bodies.slice(6000, 8000), httpMpubBin: bodies.slice(8000) };
  const log = new PubLog();
  const wsPubFeed = listFeed(parts.wsPub, 1);
  const wsMpubFeed = listFeed(parts.wsMpub, 50);
  const httpPubFeed = listFeed(parts.httpPub, 1);
  const httpMpubFeed = listFeed(parts.httpMpub, 100);
  const httpMpubBinFeed = listFeed(parts.httpMpubBin, 100);
  await Promise.all([
    wsPublisher(s, topic, wsPubFeed, 100, log),
    wsPublisher(s, topic, wsPubFeed, 100, log),
    wsPublisher(s, topic, wsMpubFeed, 5, log),
    ...Array.from({ length: 8 }, () => httpPublisher(s, topic, httpPubFeed, "pub", log)),
    ...Array.from({ length: 2 }, () => httpPublisher(s, topic, httpMpubFeed, "mpub", log)),
    ...Array.from({ length: 2 }, () => httpPublisher(s, topic, httpMpubBinFeed, "mpub-binary", log)),
  ]);
  const tPublished = elapsed(t0);
  expect(log.failures).toEqual([]);
  expect(log.acked.size).toBe(TOTAL);
  const acked = log.acked;

  // RDY 500: 3,000 FINished as they arrive, then RDY 500 fills with messages held unFINished.
  // (The FINs come right before the kill, so that their durability is what is tested.)
  consumer.rdy(RDY);
  expect(await waitFor(() => consumer.finished.size >= FINISH && consumer.held.size >= RDY, 30_000)).toBe(true);
  // The FINs are processed (and, behind the channel's output gate, durable) once /stats shows them.
  let before: ChannelView | null = null;
  const settled = await waitFor(async () => {
    before = await channelView(s, topic, channel);
    return before !== null && before.finish_count === FINISH && before.in_flight_count === RDY;
  }, 10_000);
  expect(before).toMatchObject({ finish_count: FINISH, in_flight_count: RDY, depth: TOTAL - FINISH - RDY, deferred_count: 0 });
  expect(settled).toBe(true);
  expect(consumer.errors).toEqual([]);
  expect(consumer.finished.size).toBe(FINISH);
  expect(consumer.held.size).toBe(RDY);
  const finished = new Set(consumer.finished);
  const heldAtKill = new Set(consumer.held);

  await s.kill();
  await consumer.gone();
  const tKilled = elapsed(t0);
  await s.start();
  const tRestarted = elapsed(t0);

  const { consumer: after, empty } = await drain(s, topic, channel, new Set([...acked].filter((b) => !finished.has(b))), 30_000);
  const delivered = after.received;
  expect(after.errors).toEqual([]);
  // Every acknowledged message not FINished is delivered again, the 500 in flight at the kill included.
  expect(sample([...acked].filter((b) => !finished.has(b) && !delivered.has(b)))).toEqual(none);
  expect(sample([...heldAtKill].filter((b) => !delivered.has(b)))).toEqual(none);
  // A FIN processed before the kill is durable: a FINished message does not come back.
  expect(sample([...finished].filter((b) => delivered.has(b)))).toEqual(none);
  // Nothing that was never published.
  expect(sample([...delivered.keys()].filter((b) => !acked.has(b)))).toEqual(none);
  expect(empty).toBe(true);
  console.log(
    `durability: ${acked.size} acknowledged (published by ${tPublished}), ${finished.size} FINished, ` +
      `${heldAtKill.size} in flight at the kill (${tKilled}), restarted by ${tRestarted}; ` +
      `after the restart ${delivered.size} delivered, ${duplicates(after)} duplicate deliveries, done in ${elapsed(t0)}`,
  );
});

// Unsharded, and with both topics in 4 shards (each its own objects, killed together).
for (const shards of [1, 4])
it(`keeps every message that got OK from publishers still running at the SIGKILL (${shards} shard${shards > 1 ? "s" : ""})`, async () => {
  const t0 = Date.now();
  svc = await Service.create();
  const s = svc;
  // Topic `live`: channel `fin` has a consumer FINning everything, channel `keep` has none.
  // Topic `orphan` has no channel: its messages wait in the topic's own backlog.
  const live = `live${shards}`;
  const orphan = `orphan${shards}`;
  expect((await s.fetch(`/topic/create?topic=${live}&shards=${shards}`, { method: "POST" })).status).toBe(200);
  if (shards > 1) expect((await s.fetch(`/topic/create?topic=${orphan}&shards=${shards}`, { method: "POST" })).status).toBe(200);
  expect((await s.fetch(`/channel/create?topic=${live}&channel=keep`, { method: "POST" })).status).toBe(200);
  const consumer = await Consumer.start(s, live, "fin");

  let stopped = false;
  const counters = new Map<string, number>();
  /** An endless feed of unique bodies (until the kill), `size` per batch. */
  const feed = (prefix: string, size: number): Feed => () => {
    if (stopped) return null;
    const out: string[] = [];
    for (let i = 0; i < size; i++) {
      const n = counters.get(prefix) ?? 0;
      counters.set(prefix, n + 1);
      out.push(`${prefix}-${n}`);
    }
    return out;
  };
  // A mixed PUB/MPUB feed for the V2 publishers: 1, 20, 1, 20, ...
  const mixed = (prefix: string): Feed => {
    const one = feed(prefix, 1);
    const many = feed(prefix, 20);
    let i = 0;
    return () => (i++ % 2 === 0 ? one() : many());
  };
  const liveLog = new PubLog();
  const orphanLog = new PubLog();
  const publishers = Promise.all([
    wsPublisher(s, live, mixed("ws-a"), 10, liveLog),
    wsPublisher(s, live, mixed("ws-b"), 10, liveLog),
    ...Array.from({ length: 4 }, () => httpPublisher(s, live, feed("http", 1), "pub", liveLog)),
    httpPublisher(s, live, feed("http-mpub", 50), "mpub-binary", liveLog),
    wsPublisher(s, orphan, mixed("ws"), 10, orphanLog),
    ...Array.from({ length: 2 }, () => httpPublisher(s, orphan, feed("http", 1), "pub", orphanLog)),
    httpPublisher(s, orphan, feed("http-mpub", 50), "mpub", orphanLog),
  ]);

  // Kill mid-stream, with every publisher waiting on an answer.
  const enough = await waitFor(() => liveLog.acked.size >= 4000 && orphanLog.acked.size >= 2000 && consumer.finished.size > 0, 30_000, 5);
  await s.kill();
  stopped = true;
  await publishers;
  await consumer.gone();
  expect(enough).toBe(true);
  const tKilled = elapsed(t0);
  // Nothing but the kill stopped the publishers.
  for (const f of [...liveLog.failures, ...orphanLog.failures]) expect(f).toMatch(/connection closed|fetch failed|ECONNRESET|ECONNREFUSED|socket|other side closed/i);
  expect(consumer.errors).toEqual([]);
  const unanswered = liveLog.sent.size - liveLog.acked.size + orphanLog.sent.size - orphanLog.acked.size;

  await s.start();
  const tRestarted = elapsed(t0);

  // Each channel has its own copy of every acknowledged message; `fin` lacks at most those FINished.
  const keep = await drain(s, live, "keep", liveLog.acked, 30_000);
  const fin = await drain(s, live, "fin", new Set([...liveLog.acked].filter((b) => !consumer.finished.has(b))), 30_000);
  // The first channel of `orphan` gets the topic's backlog.
  const late = await drain(s, orphan, "late", orphanLog.acked, 30_000);

  for (const [name, d, log, excused] of [
    ["live/keep", keep, liveLog, new Set<string>()],
    ["live/fin", fin, liveLog, consumer.finished],
    ["orphan/late", late, orphanLog, new Set<string>()],
  ] as const) {
    expect(d.consumer.errors, name).toEqual([]);
    const got = d.consumer.received;
    expect(sample([...log.acked].filter((b) => !excused.has(b) && !got.has(b))), `${name}: acknowledged, not delivered after the restart`).toEqual(none);
    expect(sample([...got.keys()].filter((b) => !log.sent.has(b))), `${name}: never published`).toEqual(none);
    expect(d.empty, `${name}: drained`).toBe(true);
  }
  console.log(
    `durability under publish (${shards} shard${shards > 1 ? "s" : ""}): killed at ${tKilled} with ${liveLog.acked.size} + ${orphanLog.acked.size} acknowledged, ` +
      `${unanswered} sent without an answer, ${consumer.finished.size} FINished; restarted by ${tRestarted}; ` +
      `delivered after the restart: keep ${keep.consumer.received.size} (${duplicates(keep.consumer)} dup), ` +
      `fin ${fin.consumer.received.size} (${duplicates(fin.consumer)} dup), late ${late.consumer.received.size} (${duplicates(late.consumer)} dup); ` +
      `done in ${elapsed(t0)}`,
  );
});
