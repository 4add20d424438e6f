// nsqjs (the NSQ Node client from npm, unmodified) against nsq-edge through `nsq-edge bridge`:
// Writers on the bridge's nsqd TCP port, Readers discovering the topic through the bridge's
// nsqlookupd port (lookupdHTTPAddresses), exactly as they would against nsqd and nsqlookupd.
import type * as nsq from "nsqjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge, channelStats, closeAll, eventually, openReader, openWriter, publish, serviceUrl, sleep, unique, waitForClients } from "./helpers";

let bridge: Bridge;
const open: { close(): void }[] = [];
const track = <T extends { close(): void }>(x: T) => (open.push(x), x);

beforeAll(async () => {
  bridge = await Bridge.open(serviceUrl());
});

afterAll(async () => {
  closeAll(open);
  await bridge?.stop();
});

describe("nsqjs through the bridge", () => {
  it("the bridge's lookupd answers nsqjs's discovery with the bridge as the producer", async () => {
    const topic = unique("disc");
    const w = track(await openWriter(bridge.tcpPort));
    await publish(w, topic, "x");
    const res = await fetch(`http://${bridge.lookupd}/lookup?topic=${topic}`, { headers: { Accept: "application/vnd.nsq; version=1.0" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.producers).toEqual([
      expect.objectContaining({ broadcast_address: "127.0.0.1", tcp_port: bridge.tcpPort, http_port: bridge.httpPort }),
    ]);
    expect(Object.keys(body.producers[0])).toEqual([
      "remote_address", "hostname", "broadcast_address", "tcp_port", "http_port", "version", "topology_zone", "topology_region",
    ]);
    const missing = await fetch(`http://${bridge.lookupd}/lookup?topic=${unique("none")}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "TOPIC_NOT_FOUND" });
  });

  it("a Writer publishes 10,000 messages (PUB and MPUB); a Reader found by lookupd receives them all with FIN", async () => {
    const topic = unique("ten-k");
    const w = track(await openWriter(bridge.tcpPort));
    const bodies = Array.from({ length: 10_000 }, (_, i) => `m-${i}`);
    // 1,000 single publishes (pipelined, as nsqjs sends them), then 9 MPUBs of 1,000.
    await Promise.all(bodies.slice(0, 1000).map((b) => publish(w, topic, b)));
    for (let i = 1000; i < 10_000; i += 1000) await publish(w, topic, bodies.slice(i, i + 1000));

    const seen = new Set<string>();
    let duplicates = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => (finished = r));
    const r = track(await openReader(topic, "all", { lookupdHTTPAddresses: [bridge.lookupd], maxInFlight: 200 }));
    r.on("message", (msg: nsq.Message) => {
      const b = msg.body.toString();
      if (seen.has(b)) duplicates++;
      seen.add(b);
      msg.finish();
      if (seen.size === bodies.length) finished();
    });
    await all;
    expect(seen.size).toBe(10_000);
    expect(duplicates).toBe(0);
    // Every FIN reached the service: nothing left in the channel, nothing in flight.
    await eventually(async () => {
      const ch = (await channelStats(serviceUrl(), topic, "all"))!;
      expect([ch.depth, ch.in_flight_count, ch.message_count]).toEqual([0, 0, 10_000]);
      expect(ch.clients![0].finish_count).toBe(10_000);
      expect(ch.clients![0].user_agent).toMatch(/^nsqjs\//);
    });
  });

  it("a sharded topic (16 shards): a Writer's 2,000 messages reach one Reader, never more in flight than its max", async () => {
    const topic = unique("sharded");
    expect((await fetch(`${serviceUrl()}/topic/create?topic=${topic}&shards=16`, { method: "POST" })).status).toBe(200);
    const w = track(await openWriter(bridge.tcpPort));
    const bodies = Array.from({ length: 2000 }, (_, i) => `s-${i}`);
    await Promise.all(bodies.slice(0, 500).map((b) => publish(w, topic, b)));
    for (let i = 500; i < 2000; i += 100) await publish(w, topic, bodies.slice(i, i + 100));

    const seen = new Set<string>();
    let inFlight = 0;
    let most = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => (finished = r));
    const r = track(await openReader(topic, "c", { lookupdHTTPAddresses: [bridge.lookupd], maxInFlight: 5 }));
    r.on("message", (msg: nsq.Message) => {
      inFlight++;
      most = Math.max(most, inFlight);
      seen.add(msg.body.toString());
      setTimeout(() => {
        inFlight--;
        msg.finish();
        if (seen.size === bodies.length) finished();
      }, 1);
    });
    await all;
    expect(seen.size).toBe(2000);
    expect(most).toBeLessThanOrEqual(5);
    await eventually(async () => {
      const ch = (await channelStats(serviceUrl(), topic, "c"))!;
      expect([ch.depth, ch.in_flight_count, ch.message_count]).toEqual([0, 0, 2000]);
    });
  });

  it("large messages (1 MB each, 20 in flight at once) cross the bridge intact", async () => {
    const topic = unique("large");
    const w = track(await openWriter(bridge.tcpPort));
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1_000_000, 65 + i));
    await Promise.all(bodies.map((b) => publish(w, topic, b)));
    const got = new Map<number, Buffer>();
    const r = track(await openReader(topic, "c", { lookupdHTTPAddresses: [bridge.lookupd], maxInFlight: 20 }));
    r.on("message", (msg: nsq.Message) => {
      got.set(msg.body[0]! - 65, msg.body);
      msg.finish();
    });
    await eventually(() => expect(got.size).toBe(20), 20_000);
    for (const [i, b] of got) expect(b.equals(bodies[i]!)).toBe(true);
  });

  it("REQ with a delay: the message comes back after the delay with attempts 2", async () => {
    const topic = unique("req");
    const w = track(await openWriter(bridge.tcpPort));
    await publish(w, topic, "again");
    const deliveries: { attempts: number; at: number }[] = [];
    let done!: () => void;
    const twice = new Promise<void>((r) => (done = r));
    const r = track(await openReader(topic, "c", { lookupdHTTPAddresses: [bridge.lookupd], maxInFlight: 1 }));
    r.on("message", (msg: nsq.Message) => {
      deliveries.push({ attempts: msg.attempts, at: Date.now() });
      if (msg.attempts === 1) msg.requeue(700, false);
      else {
        msg.finish();
        done();
      }
    });
    await twice;
    expect(deliveries.map((d) => d.attempts)).toEqual([1, 2]);
    expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(600);
    await eventually(async () => {
      const ch = (await channelStats(serviceUrl(), topic, "c"))!;
      expect([ch.depth, ch.requeue_count, ch.in_flight_count]).toEqual([0, 1, 0]);
    });
  });

  it("TOUCH keeps a message past its timeout: it is delivered once and never times out", async () => {
    const topic = unique("touch");
    const w = track(await openWriter(bridge.tcpPort));
    await publish(w, topic, "slow");
    const attempts: number[] = [];
    let done!: () => void;
    const handled = new Promise<void>((r) => (done = r));
    // msg_timeout 1 s (IDENTIFY); the handler takes 2.5 s, touching every 300 ms.
    const r = track(await openReader(topic, "c", { lookupdHTTPAddresses: [bridge.lookupd], messageTimeout: 1000 }));
    r.on("message", async (msg: nsq.Message) => {
      attempts.push(msg.attempts);
      for (let t = 0; t < 2500; t += 300) {
        await sleep(300);
        msg.touch();
      }
      msg.finish();
      done();
    });
    await handled;
    await sleep(1200); // a timed-out copy would be back by now
    expect(attempts).toEqual([1]);
    const ch = (await channelStats(serviceUrl(), topic, "c"))!;
    expect([ch.timeout_count, ch.requeue_count, ch.depth, ch.in_flight_count]).toEqual([0, 0, 0, 0]);
  });

  it("two Readers on one channel share its messages", async () => {
    const topic = unique("share");
    const w = track(await openWriter(bridge.tcpPort));
    await publish(w, topic, "first"); // creates the topic, so lookupd finds it
    const got = [new Set<string>(), new Set<string>()];
    const readers = await Promise.all([0, 1].map(() => openReader(topic, "workers", { lookupdHTTPAddresses: [bridge.lookupd], maxInFlight: 5 })));
    readers.forEach((r, i) => {
      track(r);
      r.on("message", async (msg: nsq.Message) => {
        got[i]!.add(msg.body.toString());
        await sleep(5); // some work, so that neither reader drains the channel alone
        msg.finish();
      });
    });
    await waitForClients(serviceUrl(), topic, "workers", 2);
    const bodies = Array.from({ length: 400 }, (_, i) => `s-${i}`);
    for (let i = 0; i < bodies.length; i += 100) await publish(w, topic, bodies.slice(i, i + 100));
    await eventually(() => expect(got[0]!.size + got[1]!.size).toBe(401), 20_000);
    const union = new Set([...got[0]!, ...got[1]!]);
    expect(union.size).toBe(401);
    expect(got[0]!.size).toBeGreaterThan(40);
    expect(got[1]!.size).toBeGreaterThan(40);
  });

  it("two channels each get every message", async () => {
    const topic = unique("fan");
    const w = track(await openWriter(bridge.tcpPort));
    await publish(w, topic, "m-first");
    const got: Record<string, Set<string>> = { a: new Set(), b: new Set() };
    for (const ch of ["a", "b"]) {
      const r = track(await openReader(topic, ch, { lookupdHTTPAddresses: [bridge.lookupd], maxInFlight: 50 }));
      r.on("message", (msg: nsq.Message) => {
        got[ch]!.add(msg.body.toString());
        msg.finish();
      });
    }
    await waitForClients(serviceUrl(), topic, "a", 1);
    await waitForClients(serviceUrl(), topic, "b", 1);
    const bodies = Array.from({ length: 300 }, (_, i) => `m-${i}`);
    await publish(w, topic, bodies);
    await eventually(() => {
      for (const b of bodies) {
        expect(got.a!.has(b)).toBe(true);
        expect(got.b!.has(b)).toBe(true);
      }
    }, 20_000);
    // The message published before either channel existed went to the first channel only, as in nsqd.
    expect(got.a!.size + got.b!.size).toBe(601);
  });

  it("heartbeats (1 s, answered by nsqjs) keep idle connections open past two intervals", async () => {
    const topic = unique("hb");
    const w = track(await openWriter(bridge.tcpPort, { heartbeatInterval: 1 }));
    let writerClosed = false;
    w.on("closed", () => (writerClosed = true));
    await publish(w, topic, "wake");
    let readerClosed = false;
    const got: string[] = [];
    const r = track(await openReader(topic, "idle", { lookupdHTTPAddresses: [bridge.lookupd], heartbeatInterval: 1 }));
    r.on("nsqd_closed", () => (readerClosed = true));
    r.on("message", (msg: nsq.Message) => {
      got.push(msg.body.toString());
      msg.finish();
    });
    await eventually(() => expect(got).toEqual(["wake"]));
    await sleep(3500); // idle: only heartbeats and NOPs cross the bridge
    expect(readerClosed).toBe(false);
    expect(writerClosed).toBe(false);
    const ch = (await channelStats(serviceUrl(), topic, "idle"))!;
    expect(ch.client_count).toBe(1);
    // Both connections still work.
    await publish(w, topic, "after");
    await eventually(() => expect(got).toEqual(["wake", "after"]));
  });
});
