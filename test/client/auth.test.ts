// The client's authSecret against a service of its own with auth on (built-in tokens): the
// Bearer on the upgrade (Node sends it, the service counts it as AUTH made), the AUTH command
// (a socket opened by `connect`, which carries no header), and the refusals: a wrong secret, no
// secret, a subscribe-only identity publishing. Refusals are AuthErrors with nsqd's codes (and
// E_AUTH_REQUIRED, go-nsq's "Auth Required"), fail ready(), and are not retried in a hot loop.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AuthError, Consumer, Producer, type Message } from "@nsq-edge/client";
import { Service } from "../e2e/service";
import { SECRETS, tokensJson } from "./auth-tokens";
import { eventually, sleep, unique } from "./helpers";
import { commandLines, recorder } from "./sockets";

let svc: Service;
let ws = "";
beforeAll(async () => {
  svc = await Service.create({ AUTH_TOKENS: await tokensJson() });
  ws = `${svc.url.replace("http", "ws")}/ws`;
});
afterAll(async () => {
  await svc?.stop();
});

/** What every `ws` socket of the process sends, while `fn` runs (the library's sockets included). */
async function sentByWs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const proto = WebSocket.prototype as unknown as { send(data: unknown, ...rest: unknown[]): void };
  const send = proto.send;
  const chunks = new Map<object, Uint8Array[]>();
  proto.send = function (this: object, data: unknown, ...rest: unknown[]) {
    const list = chunks.get(this) ?? [];
    list.push(new Uint8Array(data as Uint8Array));
    chunks.set(this, list);
    send.call(this, data, ...rest);
  };
  try {
    const result = await fn();
    return { result, lines: [...chunks.values()].flatMap((c) => commandLines(c)) };
  } finally {
    proto.send = send;
  }
}

/** A consumer that records its "error" events; closed by the caller. */
function consumer(topic: string, channel: string, opts: ConstructorParameters<typeof Consumer>[2]) {
  const errors: unknown[] = [];
  const got: Message[] = [];
  const c = new Consumer(topic, channel, { reconnectDelay: 100, maxReconnectDelay: 60_000, ...opts });
  c.on("error", (e) => void errors.push(e));
  c.on("message", (m) => void got.push(m));
  return { c, errors, got };
}

describe("the right authSecret", () => {
  it("publishes and consumes; Node sends the Bearer on the upgrade, so no AUTH command", async () => {
    const topic = unique("orders");
    const { result: got, lines } = await sentByWs(async () => {
      const producer = new Producer(svc.url, { authSecret: SECRETS.right });
      await producer.publish(topic, "one");
      const { c, got } = consumer(topic, "billing", { url: svc.url, authSecret: SECRETS.right });
      await c.ready(); // /lookup with the Bearer found the topic
      await producer.mpublish(topic, ["two", "three"]);
      await eventually(() => expect(got.map((m) => m.text()).sort()).toEqual(["one", "three", "two"]));
      await eventually(() => expect(c.stats().messagesFinished).toBe(3));
      await c.close(2000);
      await producer.close();
      return got;
    });
    expect(got).toHaveLength(3);
    expect(lines.some((l) => l.startsWith("IDENTIFY"))).toBe(true); // the recording saw the library's sockets
    expect(lines.filter((l) => l.startsWith("AUTH"))).toEqual([]);
  });

  it("over a socket opened by `connect` (no header): IDENTIFY answers auth_required and AUTH is sent", async () => {
    const topic = unique("orders");
    const rec = recorder();
    const producer = new Producer(svc.url, { authSecret: SECRETS.right, connect: rec.connect });
    await producer.publish(topic, "by-auth");
    const { c, got } = consumer(topic, "billing", { nsqdUrls: [ws], authSecret: SECRETS.right, connect: rec.connect });
    await c.ready();
    await eventually(() => expect(got.map((m) => m.text())).toEqual(["by-auth"]));
    expect(rec.lines().filter((l) => l.startsWith("AUTH"))).toEqual(["AUTH", "AUTH"]); // one per connection
    await c.close(2000);
    await producer.close();
  });
});

describe("a wrong authSecret", () => {
  it("the upgrade's 401 and AUTH's answer reject with AuthError E_AUTH_FAILED", async () => {
    const topic = unique("orders");
    const byHeader = await new Producer(svc.url, { authSecret: "wrong" }).publish(topic, "x").catch((e) => e);
    expect(byHeader).toBeInstanceOf(AuthError);
    expect(byHeader.code).toBe("E_AUTH_FAILED");
    expect(byHeader.message).toContain("answered 401");
    const byCommand = await new Producer(svc.url, { authSecret: "wrong", connect: recorder().connect }).publish(topic, "x").catch((e) => e);
    expect(byCommand).toBeInstanceOf(AuthError);
    expect(byCommand.message).toBe("E_AUTH_FAILED AUTH failed");
  });

  it("a consumer's ready() rejects; its reconnects back off rather than loop", async () => {
    const direct = consumer(unique("orders"), "billing", { nsqdUrls: [ws], authSecret: "wrong" });
    const viaLookup = consumer(unique("orders"), "billing", { url: svc.url, authSecret: "wrong" });
    for (const { c } of [direct, viaLookup]) {
      const err = await c.ready().catch((e) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err.code).toBe("E_AUTH_FAILED");
    }
    await sleep(2500);
    // reconnectDelay 100, doubling (jittered to [d/2, d]): at most 6 attempts in 2.5 s; a loop makes hundreds.
    expect(direct.errors.length).toBeGreaterThanOrEqual(2);
    expect(direct.errors.length).toBeLessThanOrEqual(6);
    expect(direct.errors.every((e) => e instanceof AuthError && e.code === "E_AUTH_FAILED")).toBe(true);
    // Through lookup: asked again at the poll interval only (60 s by default).
    expect(viaLookup.errors).toHaveLength(1);
    await direct.c.close(1000);
    await viaLookup.c.close(1000);
  });
});

describe("no authSecret", () => {
  it("a producer: AuthError E_AUTH_REQUIRED, go-nsq's Auth Required", async () => {
    const err = await new Producer(svc.url).publish(unique("orders"), "x").catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.code).toBe("E_AUTH_REQUIRED");
    expect(err.message).toContain("Auth Required");
    expect(err.message).toContain("authSecret");
  });

  it("a consumer: ready() rejects with E_AUTH_REQUIRED and it does not reconnect", async () => {
    const direct = consumer(unique("orders"), "billing", { nsqdUrls: [ws] });
    const viaLookup = consumer(unique("orders"), "billing", { url: svc.url });
    for (const { c } of [direct, viaLookup]) {
      const err = await c.ready().catch((e) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err.code).toBe("E_AUTH_REQUIRED");
    }
    expect(viaLookup.errors[0]).toMatchObject({ message: expect.stringContaining("answered 401") });
    await sleep(1500);
    expect(direct.errors).toHaveLength(1);
    expect(viaLookup.errors).toHaveLength(1);
    await direct.c.close(1000);
    await viaLookup.c.close(1000);
  });
});

describe("a subscribe-only authSecret", () => {
  it("consumes its channel; publishing fails with E_UNAUTHORIZED, and so does SUB to another channel", async () => {
    const topic = unique("orders");
    const producer = new Producer(svc.url, { authSecret: SECRETS.right });
    await producer.publish(topic, "for-billing");
    const { c, got } = consumer(topic, "billing", { url: svc.url, authSecret: SECRETS.sub });
    await c.ready();
    await eventually(() => expect(got.map((m) => m.text())).toEqual(["for-billing"]));

    const pub = await new Producer(svc.url, { authSecret: SECRETS.sub }).publish(topic, "x").catch((e) => e);
    expect(pub).toBeInstanceOf(AuthError);
    expect(pub.message).toBe(`E_UNAUTHORIZED AUTH failed for PUB on "${topic}" ""`);

    const other = consumer(topic, "shipping", { url: svc.url, authSecret: SECRETS.sub });
    const sub = await other.c.ready().catch((e) => e);
    expect(sub).toBeInstanceOf(AuthError);
    expect(sub.message).toBe(`E_UNAUTHORIZED AUTH failed for SUB on "${topic}" "shipping"`);
    await other.c.close(1000);
    await c.close(2000);
    await producer.close();
  });
});
