// The client library inside workerd, as a Worker or Durable Object uses it: Producer and
// Consumer reach the service through a fetch-style function (here SELF.fetch; in an application,
// a service binding's fetch): /lookup over HTTP, the V2 WebSocket by an Upgrade request.
// With auth on (the Worker called with an env of its own, as access.test.ts does), authSecret
// rides on both as `Authorization: Bearer`, so no AUTH command is needed.
import { SELF, env } from "cloudflare:test";
import { afterEach, expect, it } from "vitest";
import app from "../../src/index";
import { sha256, toHex } from "../../src/auth/tokens";
import { AuthError, Consumer, Producer, type FetchLike, type Message } from "../../client/src/index";
import { V2Parser } from "../../src/protocol/parser";
import { unique, type StatsDoc } from "../helpers/workers";

const fetchFn: FetchLike = (url, init) => SELF.fetch(url, init);
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => {});
});

async function until(check: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

it("a consumer made with the library receives messages through a fetch upgrade", async () => {
  const topic = unique("lib");
  const producer = new Producer("http://nsq.test", { fetch: fetchFn });
  closers.push(() => producer.close());
  await producer.publish(topic, "first"); // creates the topic: /lookup finds it

  const got: Message[] = [];
  const consumer = new Consumer(topic, "worker", { url: "http://nsq.test", fetch: fetchFn, maxInFlight: 10 });
  closers.push(() => consumer.close(1000));
  consumer.on("message", (m) => void got.push(m));
  await consumer.ready();
  // /lookup names the Worker's own host; the consumer connects there.
  expect(consumer.connections).toEqual(["ws://nsq.test/ws"]);

  await producer.mpublish(topic, ["a", "b", "c"]);
  await producer.dpublish(topic, "d", 10);
  await until(() => got.length === 5);
  expect(got.map((m) => m.text()).sort()).toEqual(["a", "b", "c", "d", "first"]);
  expect(got[0].attempts).toBe(1);
  await until(() => consumer.stats().messagesFinished === 5);

  await consumer.close(1000);
  expect(consumer.stats().connections).toBe(0);
  const stats = (await SELF.fetch(`http://nsq.test/stats?format=json&topic=${topic}`).then((r) => r.json())) as StatsDoc;
  expect(stats.topics![0].channels[0]).toMatchObject({ channel_name: "worker", depth: 0, in_flight_count: 0 });
});

it("async iteration and requeue in workerd", async () => {
  const topic = unique("lib-iter");
  const producer = new Producer("http://nsq.test", { fetch: fetchFn });
  closers.push(() => producer.close());
  await producer.mpublish(topic, ["x", "y"]);
  const consumer = new Consumer(topic, "ch", { url: "http://nsq.test", fetch: fetchFn, maxInFlight: 2, maxBackoffDuration: 0 });
  closers.push(() => consumer.close(1000));
  const seen: string[] = [];
  for await (const m of consumer) {
    seen.push(`${m.text()}#${m.attempts}`);
    if (m.text() === "x" && m.attempts === 1) m.requeue(0);
    if (seen.length === 3) {
      m.finish();
      break;
    }
  }
  expect(seen.sort()).toEqual(["x#1", "x#2", "y#1"]);
});

it("with auth on, authSecret goes as a Bearer on /lookup and the upgrade: no AUTH command; a wrong one is an AuthError", async () => {
  const secret = "sec-lib";
  const tokens = { [toHex(await sha256(secret))]: { identity: "lib", authorizations: [{ topic: "^lib-auth", channels: [".*"], permissions: ["publish", "subscribe"] }] } };
  const authEnv = { ...env, AUTH: "", AUTH_TOKENS: JSON.stringify(tokens) };
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const sent: string[] = []; // the commands the library's sockets send, read by the service's parser
  const authFetch: FetchLike = async (url, init) => {
    const res = await app.fetch(new Request(url, init), authEnv, ctx);
    const ws = res.webSocket;
    if (ws) {
      const parser = new V2Parser({ maxMsgSize: 2 ** 20, maxBodySize: 2 ** 20 }, { magic: true });
      const send = ws.send.bind(ws);
      ws.send = (data: string | ArrayBuffer | ArrayBufferView) => {
        sent.push(...parser.feed(new Uint8Array(data as Uint8Array)).filter((c) => !c.head).map((c) => c.name));
        send(data);
      };
    }
    return res;
  };
  const topic = unique("lib-auth");
  const producer = new Producer("http://nsq.test", { fetch: authFetch, authSecret: secret });
  closers.push(() => producer.close());
  await producer.publish(topic, "first");
  const got: Message[] = [];
  const consumer = new Consumer(topic, "worker", { url: "http://nsq.test", fetch: authFetch, authSecret: secret });
  closers.push(() => consumer.close(1000));
  consumer.on("message", (m) => void got.push(m));
  await consumer.ready();
  await until(() => got.length === 1);
  expect(got[0]!.text()).toBe("first");
  expect(sent).toContain("IDENTIFY");
  expect(sent).toContain("SUB");
  expect(sent).not.toContain("AUTH");

  const wrong = await new Producer("http://nsq.test", { fetch: authFetch, authSecret: "wrong" }).publish(topic, "x").catch((e) => e);
  expect(wrong).toBeInstanceOf(AuthError);
  expect(wrong.code).toBe("E_AUTH_FAILED");
  expect(wrong.message).toContain("answered 401");
});
