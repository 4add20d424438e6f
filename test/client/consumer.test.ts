// Consumer: handler and iteration styles, the Message API, auto FIN/REQ, touch, discovery,
// RDY distribution, heartbeats, coalescing and graceful close.
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Consumer, Message, NsqError, Producer, type ConsumerOptions } from "@nsq-edge/client";
import { channelStats, eventually, expectReady, pubHttp, readyCounts, serviceUrl, sleep, unique } from "./helpers";
import { recorder } from "./sockets";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => {});
});

function consumer(topic: string, opts: ConsumerOptions = {}, channel = "ch") {
  const c = new Consumer(topic, channel, { url: serviceUrl(), lookupdPollInterval: 200, ...opts });
  closers.push(() => c.close(2000));
  return c;
}

/** A topic that exists, so that a consumer finds it at once through /lookup. */
async function topicWith(prefix: string, ...bodies: string[]): Promise<string> {
  const topic = unique(prefix);
  const res = await fetch(`${serviceUrl()}/topic/create?topic=${topic}`, { method: "POST" });
  expect(res.status).toBe(200);
  const p = new Producer(serviceUrl());
  if (bodies.length) await p.mpublish(topic, bodies);
  await p.close();
  return topic;
}

describe("handler style", () => {
  it("consumer.on('message'): FIN when the handler resolves", async () => {
    const topic = await topicWith("on", "a", "b", "c");
    const c = consumer(topic, { maxInFlight: 10 });
    const got: string[] = [];
    c.on("message", async (m) => {
      await sleep(5);
      got.push(m.text());
    });
    await eventually(() => expect(got.sort()).toEqual(["a", "b", "c"]));
    await eventually(async () => expect(await channelStats(serviceUrl(), topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0 }));
    expect(c.stats()).toMatchObject({ messagesReceived: 3, messagesFinished: 3, messagesRequeued: 0, connections: 1 });
  });

  it("the handler option; a Message has body, text(), json(), id, attempts, timestamp", async () => {
    const before = Date.now();
    const topic = await topicWith("msg", JSON.stringify({ n: 1, s: "é" }));
    let msg: Message | undefined;
    consumer(topic, {
      handler: (m) => {
        msg = m;
      },
    });
    await eventually(() => expect(msg).toBeDefined());
    const m = msg!;
    expect(m.body).toBeInstanceOf(Uint8Array);
    expect(m.json()).toEqual({ n: 1, s: "é" });
    expect(m.text()).toBe('{"n":1,"s":"é"}');
    expect(m.id).toMatch(/^[0-9a-f]{16}$/);
    expect(m.attempts).toBe(1);
    expect(m.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(m.timestamp).toBeLessThanOrEqual(Date.now());
    expect(typeof m.timestampNs).toBe("bigint");
    await eventually(() => expect(m.hasResponded).toBe(true));
  });

  it("REQ with defaultRequeueDelay × attempts when the handler throws; the next delivery has attempts 2", async () => {
    const topic = await topicWith("throw", "flaky");
    const seen: { attempts: number; at: number }[] = [];
    const errors: unknown[] = [];
    const c = consumer(topic, {
      defaultRequeueDelay: 400,
      maxBackoffDuration: 0, // no backoff here (flow.test.ts covers it)
      handler: (m) => {
        seen.push({ attempts: m.attempts, at: Date.now() });
        if (m.attempts === 1) throw new Error("not yet");
      },
    });
    c.on("error", (e) => errors.push(e));
    await eventually(() => expect(seen.length).toBe(2));
    expect(seen.map((s) => s.attempts)).toEqual([1, 2]);
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(350);
    expect(errors.map(String)).toEqual(["Error: not yet"]);
    await eventually(() => expect(c.stats()).toMatchObject({ messagesRequeued: 1, messagesFinished: 1 }));
  });

  it("requeue(delay, false), finish() and touch() by hand, with disableAutoResponse", async () => {
    const topic = await topicWith("manual", "m");
    const seen: number[] = [];
    consumer(topic, {
      msgTimeout: 1000,
      handler: async (m) => {
        m.disableAutoResponse();
        seen.push(m.attempts);
        if (m.attempts === 1) {
          expect(m.requeue(0, false)).toBe(true);
          expect(m.finish()).toBe(false); // answered already
          return;
        }
        // Held for 2 s with a 1 s message timeout: TOUCH keeps it from timing out.
        for (let i = 0; i < 5; i++) {
          await sleep(400);
          m.touch();
        }
        m.finish();
      },
    });
    await eventually(() => expect(seen).toEqual([1, 2]));
    await eventually(async () => expect(await channelStats(serviceUrl(), topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0, timeout_count: 0 }), 5000);
    expect(seen).toEqual([1, 2]);
  });
});

describe("async iteration", () => {
  it("for await: each message is finished when the loop asks for the next one", async () => {
    const topic = await topicWith("iter", "x0", "x1", "x2", "x3");
    const c = consumer(topic, { maxInFlight: 2 });
    const got: string[] = [];
    for await (const m of c) {
      got.push(m.text());
      if (got.length === 4) {
        m.finish(); // leaving the loop would requeue an unanswered message
        break;
      }
    }
    expect(got.sort()).toEqual(["x0", "x1", "x2", "x3"]);
    // Leaving the loop closed the consumer; everything was finished.
    expect(c.stats()).toMatchObject({ messagesFinished: 4, messagesRequeued: 0, connections: 0 });
    await eventually(async () => expect(await channelStats(serviceUrl(), topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0 }));
  });

  it("a throw inside the loop requeues the current message and closes the consumer", async () => {
    const topic = await topicWith("iter-throw", "boom");
    const c = consumer(topic);
    await expect(
      (async () => {
        for await (const m of c) throw new Error(`failed on ${m.text()}`);
      })(),
    ).rejects.toThrow("failed on boom");
    expect(c.stats()).toMatchObject({ messagesRequeued: 1, connections: 0 });
    // The message is back: another consumer gets it, as a second attempt.
    const again = consumer(topic);
    for await (const m of again) {
      expect([m.text(), m.attempts]).toEqual(["boom", 2]);
      break;
    }
  });
});

describe("maxAttempts", () => {
  it("finishes a message past maxAttempts without calling the handler and reports it as 'discard'", async () => {
    const topic = await topicWith("attempts", "poison");
    const attempts: number[] = [];
    const discarded: Message[] = [];
    const c = consumer(topic, {
      maxAttempts: 3,
      defaultRequeueDelay: 0,
      maxBackoffDuration: 0,
      handler: (m) => {
        attempts.push(m.attempts);
        throw new Error("always fails");
      },
    });
    c.on("discard", (m) => void discarded.push(m));
    await eventually(() => expect(discarded.length).toBe(1));
    expect(attempts).toEqual([1, 2, 3]);
    expect(discarded[0].attempts).toBe(4);
    expect(discarded[0].text()).toBe("poison");
    expect(discarded[0].hasResponded).toBe(true);
    await eventually(async () => expect(await channelStats(serviceUrl(), topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0 }));
    expect(c.stats()).toMatchObject({ messagesDiscarded: 1, messagesRequeued: 3, messagesFinished: 1 });
  });
});

describe("discovery", () => {
  it("polls /lookup until the topic exists (404 TOPIC_NOT_FOUND), then connects to its producer", async () => {
    const topic = unique("later");
    const c = consumer(topic, { lookupdPollInterval: 200, lookupdPollJitter: 0 });
    const got: string[] = [];
    c.on("message", (m) => void got.push(m.text()));
    await sleep(700);
    expect(c.connections).toEqual([]);
    await pubHttp(serviceUrl(), topic, "first"); // creates the topic
    await c.ready();
    expect(c.connections).toEqual([`${serviceUrl().replace("http", "ws")}/ws`]);
    await eventually(() => expect(got).toEqual(["first"]));
  });

  it("opens one connection per producer listed, built from broadcast_address and http_port", async () => {
    const topic = await topicWith("producers");
    const port = Number(new URL(serviceUrl()).port);
    // A lookup service listing the service twice, under two names.
    const lookups: string[] = [];
    const server = http.createServer((req, res) => {
      lookups.push(req.url!);
      res.setHeader("Content-Type", "application/json");
      res.end(
        JSON.stringify({
          channels: [],
          producers: [
            { broadcast_address: "127.0.0.1", http_port: port, tcp_port: port },
            { broadcast_address: "localhost", http_port: port, tcp_port: port },
          ],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => server.close(r)));
    const lookupUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const c = new Consumer(topic, "ch", { url: lookupUrl, maxInFlight: 10, lookupdPollInterval: 200 });
    closers.push(() => c.close(2000));
    await eventually(() => expect(c.connections.sort()).toEqual([`ws://127.0.0.1:${port}/ws`, `ws://localhost:${port}/ws`]));
    expect(lookups[0]).toBe(`/lookup?topic=${topic}`);
    // maxInFlight spread over the two connections.
    await expectReady(serviceUrl(), topic, "ch", [5, 5]);
    await eventually(() => expect(lookups.length).toBeGreaterThanOrEqual(3)); // re-polled
  });
});

describe("RDY", () => {
  it("spreads maxInFlight over the connections and never exceeds it", async () => {
    const topic = await topicWith("spread");
    const ws = `${serviceUrl().replace("http", "ws")}/ws`;
    const three = [`${ws}?c=1`, `${ws}?c=2`, `${ws}?c=3`];
    // A slow handler: how many messages it holds at once is what maxInFlight bounds.
    let holding = 0;
    let most = 0;
    let handled = 0;
    const c = new Consumer(topic, "ch", {
      nsqdUrls: three,
      maxInFlight: 10,
      handler: async () => {
        most = Math.max(most, ++holding);
        await sleep(10);
        holding--;
        handled++;
      },
    });
    closers.push(() => c.close(2000));
    await eventually(() => expect(c.connections.length).toBe(3));
    await expectReady(serviceUrl(), topic, "ch", [3, 3, 3]);
    const p = new Producer(serviceUrl());
    await p.mpublish(topic, Array.from({ length: 60 }, (_, i) => `m${i}`));
    await eventually(() => expect(handled).toBe(60));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(10);

    c.changeMaxInFlight(2); // fewer than connections: two of them get 1, one gets 0
    await eventually(async () => expect((await readyCounts(serviceUrl(), topic, "ch")).sort()).toEqual([0, 1, 1]));
    expect(c.stats().rdy).toBe(2);
    most = 0;
    await p.mpublish(topic, Array.from({ length: 20 }, (_, i) => `n${i}`));
    await p.close();
    await eventually(() => expect(handled).toBe(80));
    expect(most).toBeLessThanOrEqual(2);
  });

  it("coalesces FINs and RDY into few WebSocket messages", async () => {
    const bodies = Array.from({ length: 500 }, (_, i) => `m${i}`);
    const topic = await topicWith("coalesce", ...bodies);
    const rec = recorder();
    const c = consumer(topic, { connect: rec.connect, maxInFlight: 100 });
    let n = 0;
    c.on("message", () => void n++);
    await eventually(() => expect(c.stats().messagesFinished).toBe(500));
    // (The last FINs counted may still be waiting for the end of the event-loop turn.)
    await eventually(() => expect(rec.lines().filter((l) => l.startsWith("FIN ")).length).toBe(500));
    const lines = rec.lines();
    expect(lines.filter((l) => l.startsWith("RDY ")).length).toBe(1);
    // 500 FINs and the handshake in far fewer WebSocket messages (the server sends up to 100 at once).
    expect(rec.sockets[0].sent.length).toBeLessThan(60);
  });
});

describe("servedByChannel", () => {
  it("connects with the channel named in the URL, and consumes as usual; without it, to /ws", async () => {
    const bodies = Array.from({ length: 300 }, (_, i) => `s${i}`);
    const topic = await topicWith("served", ...bodies);
    const rec = recorder();
    const c = consumer(topic, { connect: rec.connect, maxInFlight: 50, servedByChannel: true }, "billing#ephemeral");
    const got: string[] = [];
    c.on("message", (m) => void got.push(m.text()));
    await eventually(() => expect(got.length).toBe(300));
    expect(new Set(got).size).toBe(300);
    expect(rec.sockets.map((s) => new URL(s.url).search)).toEqual([`?topic=${topic}&channel=billing%23ephemeral`]);
    await eventually(async () => expect(await channelStats(serviceUrl(), topic, "billing#ephemeral")).toMatchObject({ depth: 0, in_flight_count: 0, client_count: 1 }));
    const plain = recorder();
    consumer(topic, { connect: plain.connect }, "other");
    await eventually(() => expect(plain.sockets.length).toBe(1));
    expect(new URL(plain.sockets[0].url).search).toBe("");
  });
});

describe("connection", () => {
  it("answers heartbeats with NOP and keeps the connection", async () => {
    const topic = await topicWith("heartbeat");
    const rec = recorder();
    const c = consumer(topic, { connect: rec.connect, heartbeatInterval: 1000 });
    const disconnects: string[] = [];
    c.on("disconnect", (u) => void disconnects.push(u));
    await c.ready();
    await sleep(3500); // the server closes a client that misses two heartbeats
    expect(disconnects).toEqual([]);
    expect(rec.sockets.length).toBe(1);
    expect(rec.lines().filter((l) => l === "NOP").length).toBeGreaterThanOrEqual(2);
    expect((await channelStats(serviceUrl(), topic, "ch"))!.clients!.length).toBe(1);
  });

  it("sends client_id, hostname and user_agent in IDENTIFY", async () => {
    const topic = await topicWith("identify");
    const c = consumer(topic, { clientId: "worker-7", userAgent: "my-app/1.2" });
    await c.ready();
    const ch = (await channelStats(serviceUrl(), topic, "ch"))!;
    expect(ch.clients![0]).toMatchObject({ client_id: "worker-7", hostname: "worker-7", user_agent: "my-app/1.2" });
  });

  it("checks names at construction, as go-nsq: E_BAD_TOPIC, E_BAD_CHANNEL", () => {
    expect(() => new Consumer("a b", "ch", { url: serviceUrl() })).toThrow(NsqError);
    const err = (() => {
      try {
        new Consumer("fine", "bad!channel", { url: serviceUrl() });
      } catch (e) {
        return e as NsqError;
      }
    })();
    expect(err).toBeInstanceOf(NsqError);
    expect([err!.code, err!.description]).toEqual(["E_BAD_CHANNEL", 'SUB channel name "bad!channel" is not valid']);
    expect(() => new Consumer("x".repeat(65), "ch", { url: serviceUrl() })).toThrow(/E_BAD_TOPIC/);
    expect(() => new Consumer("t#ephemeral", "c#ephemeral", { url: serviceUrl() }).close()).not.toThrow();
  });
});

describe("close()", () => {
  it("sends CLS, waits for the messages in flight, then closes", async () => {
    const topic = await topicWith("close", "s0", "s1", "s2", "s3", "s4");
    const rec = recorder();
    const done: string[] = [];
    const c = consumer(topic, {
      connect: rec.connect,
      maxInFlight: 5,
      handler: async (m) => {
        await sleep(600);
        done.push(m.text());
      },
    });
    await eventually(() => expect(c.stats().inFlight).toBe(5));
    const t0 = Date.now();
    await c.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(done.sort()).toEqual(["s0", "s1", "s2", "s3", "s4"]);
    expect(rec.lines()).toContain("CLS");
    expect(c.stats()).toMatchObject({ messagesFinished: 5, messagesRequeued: 0, connections: 0 });
    await eventually(async () => expect(await channelStats(serviceUrl(), topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0, client_count: 0 }));
  });

  it("gives up waiting after the timeout; the server requeues what was in flight", async () => {
    const topic = await topicWith("close-timeout", "stuck");
    const c = consumer(topic, { handler: () => new Promise(() => {}) });
    await eventually(() => expect(c.stats().inFlight).toBe(1));
    const t0 = Date.now();
    await c.close(300);
    expect(Date.now() - t0).toBeLessThan(2000);
    const again = consumer(topic);
    for await (const m of again) {
      expect([m.text(), m.attempts]).toEqual(["stuck", 2]);
      break;
    }
  });
});
