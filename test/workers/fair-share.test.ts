// Consumers of a channel share its messages: a consumer with spare RDY is served in turn, never
// starved while others are served again and again. The consumers here attach to the channel's
// object as the Worker's sessions do (a WebSocket carrying link records), so that 1,000 of them
// fit in a test.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import { FRAME_MESSAGE, FrameReader, decodeMessage } from "../../src/protocol/frames";
import { encodeLink, linkRequest, type LinkCommand } from "../../src/protocol/link";
import { channelStub } from "../../src/stubs";
import { post, statsJson, unique } from "../helpers/workers";
import { eventually } from "../helpers/wait";

const CONSUMERS = 1000;
const BATCH = 500;
const MESSAGES = 20_000;

/** A consumer on the channel's link at RDY 1 that FINs every message as it arrives. */
async function attach(topic: string, channel: string, i: number) {
  const info = {
    client_id: `c${i}`, hostname: "test", remote_address: "127.0.0.1:1", user_agent: "fair-share",
    msg_timeout: 60_000, sample_rate: 0, connect_ts: 0, deflate: false, snappy: false, tls: false,
    authed: false, auth_identity: "", auth_identity_url: "",
  };
  const res = await channelStub(env as unknown as Env, topic, channel).fetch(linkRequest(info));
  const ws = res.webSocket!;
  ws.binaryType = "arraybuffer";
  ws.accept();
  let seq = 0;
  const send = (cmds: LinkCommand[]) => ws.send(encodeLink(seq++, cmds));
  const reader = new FrameReader();
  const c = { ws, received: 0 };
  ws.addEventListener("message", (e) => {
    const fins: LinkCommand[] = [];
    for (const f of reader.feed(new Uint8Array(e.data as ArrayBuffer))) {
      if (f.type !== FRAME_MESSAGE) continue;
      c.received++;
      fins.push({ op: "FIN", id: decodeMessage(f.data).id });
    }
    if (fins.length) send(fins);
  });
  send([{ op: "RDY", count: 1 }]);
  return c;
}

async function setup(prefix: string, count = CONSUMERS) {
  const topic = unique(prefix);
  expect((await post(`/topic/create?topic=${topic}`)).status).toBe(200);
  expect((await post(`/channel/create?topic=${topic}&channel=c`)).status).toBe(200);
  const consumers = await Promise.all(Array.from({ length: count }, (_, i) => attach(topic, "c", i)));
  // Every RDY has arrived before the first publish.
  await eventually(async () => {
    const ch = (await statsJson(`&topic=${topic}`)).topics![0].channels[0];
    expect(ch.clients!.filter((c) => c.ready_count === 1).length).toBe(count);
  }, 30_000, 100);
  return { topic, consumers };
}

async function mpub(topic: string, from: number, batch = BATCH) {
  const body = Array.from({ length: batch }, (_, i) => `m${from + i}`).join("\n");
  expect((await post(`/mpub?topic=${topic}`, body)).status).toBe(200);
}

async function drained(topic: string, consumers: { received: number }[], n: number) {
  await eventually(async () => {
    expect(consumers.reduce((s, c) => s + c.received, 0)).toBe(n);
    const ch = (await statsJson(`&topic=${topic}`)).topics![0].channels[0];
    expect(ch.in_flight_count).toBe(0);
  }, 60_000, 50);
}

describe("sharing a channel's messages", () => {
  it("serves consumers at equal RDY in turn: each of K gets N/K rounded either way", async () => {
    // Every batch finds every consumer idle: the bound is exact rotation, ⌊N/K⌋ or ⌈N/K⌉ each.
    const { topic, consumers } = await setup("fair");
    for (let at = 0; at < MESSAGES; at += BATCH) {
      await mpub(topic, at);
      await drained(topic, consumers, at + BATCH);
    }
    const counts = consumers.map((c) => c.received);
    expect(Math.min(...counts)).toBe(Math.floor(MESSAGES / CONSUMERS));
    expect(Math.max(...counts)).toBe(Math.ceil(MESSAGES / CONSUMERS));
    for (const c of consumers) c.ws.close();
  }, 180_000);

  it("starves no consumer when batches arrive while others are still busy", async () => {
    // Publishes back to back (the next batch comes while FINs are on their way): a consumer with
    // spare RDY waits at most one delivery to each of the others, so nobody may end far below
    // the even share (20 each here; the old order left 461 of them with none).
    const { topic, consumers } = await setup("fair-busy");
    for (let at = 0; at < MESSAGES; at += BATCH) await mpub(topic, at);
    await drained(topic, consumers, MESSAGES);
    const counts = consumers.map((c) => c.received);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(MESSAGES / CONSUMERS / 2);
    for (const c of consumers) c.ws.close();
  }, 180_000);

  it("starves no consumer when each batch is larger than the consumers (200 at RDY 1, /mpub of 500)", async () => {
    // A batch covers every consumer at once and the rest waits for FINs: every FIN's pump must
    // go on around the rotation, not back to its start.
    const k = 200;
    const { topic, consumers } = await setup("fair-big", k);
    for (let at = 0; at < MESSAGES / 2; at += BATCH) await mpub(topic, at, BATCH);
    await drained(topic, consumers, MESSAGES / 2);
    const counts = consumers.map((c) => c.received);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(MESSAGES / 2 / k / 2);
    for (const c of consumers) c.ws.close();
  }, 180_000);
});
