// Concurrent publishes to one topic share RPCs into its object (src/publish-relay.ts), across
// requests of the Worker's isolate. Checked on the running service with real connections: every
// publish answered OK is stored once and in its connection's order, and clients that go away
// mid-request (a reset socket) strand no one: later publishes still go, and the runtime logs no
// request as hung or run in another's context.
import net from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stats } from "../../src/stats";
import { cmd, text } from "../helpers/v2client";
import { Service } from "./service";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(() => svc?.stop());

const post = (path: string, body = "") => svc.fetch(path, { method: "POST", body });

/** `n` publishes on one keep-alive connection, one after the other; resolves with the answers. */
function connection(port: number, topic: string, tag: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const answers: string[] = [];
    let buf = "";
    let i = 0;
    const next = () => {
      const body = `${tag}:${i++}`;
      sock.write(`POST /pub?topic=${topic} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    };
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        answers.push(`${buf.slice(9, 12)} ${buf.slice(end + 4, end + 4 + length)}`);
        buf = buf.slice(end + 4 + length);
        if (answers.length === n) {
          sock.end();
          resolve(answers);
        } else next();
      }
    });
    sock.on("error", reject);
    sock.on("connect", next);
  });
}

/** A publish whose client resets the connection as soon as its request is sent. */
function abandoned(port: number, topic: string, body: string): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => {
      sock.write(`POST /pub?topic=${topic} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`, () => {
        sock.resetAndDestroy();
        resolve();
      });
    });
    sock.on("error", () => resolve());
  });
}

async function drain(topic: string, channel: string, n: number): Promise<string[]> {
  const c = await svc.connect();
  await c.subscribe(topic, channel, 2500);
  const got: string[] = [];
  while (got.length < n) {
    const m = await c.message(10_000);
    got.push(text(m));
    c.send(cmd.fin(m.id));
  }
  c.close();
  return got;
}

it("32 connections publishing at once: every OK stored once, each connection's in its order", async () => {
  const topic = "relay-order";
  expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
  expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
  const port = Number(new URL(svc.url).port);
  const per = 40;
  const answers = await Promise.all(Array.from({ length: 32 }, (_, k) => connection(port, topic, `k${k}`, per)));
  for (const a of answers) expect(a).toEqual(Array(per).fill("200 OK"));

  const got = await drain(topic, "c", 32 * per);
  expect(new Set(got).size).toBe(32 * per);
  for (let k = 0; k < 32; k++) {
    const mine = got.filter((m) => m.startsWith(`k${k}:`)).map((m) => Number(m.split(":")[1]));
    expect(mine).toEqual(Array.from({ length: per }, (_, i) => i));
  }
  const stats = (await (await svc.fetch(`/stats?format=json&topic=${topic}`)).json()) as Stats;
  expect(stats.topics![0].message_count).toBe(32 * per);
});

it("clients that reset mid-publish strand no one: publishes around and after them are answered", async () => {
  const topic = "relay-abandoned";
  expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
  expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
  const port = Number(new URL(svc.url).port);
  for (let round = 0; round < 5; round++) {
    const [answers] = await Promise.all([
      Promise.all(Array.from({ length: 16 }, (_, k) => connection(port, topic, `r${round}k${k}`, 10))),
      Promise.all(Array.from({ length: 16 }, (_, k) => abandoned(port, topic, `gone${round}-${k}`))),
    ]);
    for (const a of answers) expect(a).toEqual(Array(10).fill("200 OK"));
  }
  // After them, a publish alone still goes through at once.
  const t = Date.now();
  expect(await (await post(`/pub?topic=${topic}`, "last")).text()).toBe("OK");
  expect(Date.now() - t).toBeLessThan(2000);
  // Every answered publish is there (an abandoned one may be too: its client never learnt).
  const stats = (await (await svc.fetch(`/stats?format=json&topic=${topic}`)).json()) as Stats;
  const count = stats.topics![0].message_count;
  expect(count).toBeGreaterThanOrEqual(5 * 16 * 10 + 1);
  const got = await drain(topic, "c", count);
  for (let round = 0; round < 5; round++)
    for (let k = 0; k < 16; k++) for (let i = 0; i < 10; i++) expect(got).toContain(`r${round}k${k}:${i}`);
  expect(got).toContain("last");
  expect(svc.output).not.toMatch(/hung|different request|Uncaught exception/);
});
