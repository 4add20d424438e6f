// Replay: a channel's retention keeps FINished messages; POST /channel/seek?ts= makes every
// message published at or after ts ready again (this channel only), ts=now skips the backlog.
import { describe, expect, it } from "vitest";
import { http, post, unique } from "../helpers/workers";
import { bodies, channelStats, closeClientsAfterEach, cmd, consumer, expectSilence, pubHttp, receive, sleep } from "../helpers/semantics";
import { configureChannel, createChannel } from "./settings-helpers";

closeClientsAfterEach();

async function seek(topic: string, channel: string, ts: string | number) {
  const res = await post(`/channel/seek?topic=${topic}&channel=${channel}&ts=${ts}`);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return JSON.parse(body) as { ready: number };
}

/** Publishes m0..m(n-1) one by one; returns the time just before m`mid` was published. */
async function publishAround(topic: string, n: number, mid: number): Promise<number> {
  let t = 0;
  for (let i = 0; i < n; i++) {
    if (i === mid) {
      await sleep(5);
      t = Date.now();
      await sleep(5);
    }
    await pubHttp(topic, `m${i}`);
  }
  return t;
}

describe("seek with a retention", () => {
  it("replays exactly the messages published since ts, after they were FINished, to this channel only", async () => {
    const topic = unique("replay");
    await createChannel(topic, "c");
    await createChannel(topic, "other");
    await configureChannel(topic, "c", { retention: "24h" });
    const t = await publishAround(topic, 10, 6);
    const c = await consumer(topic, "c", 10);
    await receive(c, 10, { fin: true });
    await expectSilence(c, 100);
    expect((await channelStats(topic, "c"))!.depth).toBe(0);

    expect(await seek(topic, "c", t)).toEqual({ ready: 4 });
    expect(bodies(await receive(c, 4, { fin: true }))).toEqual(["m6", "m7", "m8", "m9"]);
    await expectSilence(c, 100);
    // Again, from the start: all ten; the other channel is untouched.
    expect(await seek(topic, "c", 0)).toEqual({ ready: 10 });
    expect(bodies(await receive(c, 10, { fin: true }))).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    expect((await channelStats(topic, "other"))!).toMatchObject({ depth: 10, message_count: 10 });
  });

  it("a FINished message that had been requeued (a row of its own) is replayed too", async () => {
    const topic = unique("replay");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { retention: "1h" });
    await pubHttp(topic, "a");
    await pubHttp(topic, "b");
    const c = await consumer(topic, "c", 1);
    const [a] = await receive(c, 1);
    c.send(cmd.req(a.id, 0));
    const [x, y] = await receive(c, 2, { fin: true });
    expect(bodies([x!, y!]).sort()).toEqual(["a", "b"]);
    expect(await seek(topic, "c", 0)).toEqual({ ready: 2 });
    expect(bodies(await receive(c, 2, { fin: true })).sort()).toEqual(["a", "b"]);
  });

  it("a shorter retention forgets what it no longer covers", async () => {
    const topic = unique("replay");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { retention: "1h" });
    await pubHttp(topic, "old");
    const c = await consumer(topic, "c", 1);
    await receive(c, 1, { fin: true });
    await sleep(20);
    await configureChannel(topic, "c", { retention: "10ms" });
    expect(await seek(topic, "c", 0)).toEqual({ ready: 0 });
    await expectSilence(c, 100);
  });

  it("what was in flight is forgotten, as by empty: its FIN answers E_FIN_FAILED, and it goes by the rule", async () => {
    const topic = unique("replay");
    await createChannel(topic, "c");
    await configureChannel(topic, "c", { retention: "1h" });
    await pubHttp(topic, "held");
    const c = await consumer(topic, "c", 1);
    const [m] = await receive(c, 1);
    expect(await seek(topic, "c", "now")).toEqual({ ready: 0 });
    c.send(cmd.fin(m.id));
    expect(await c.error()).toBe(`E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 0, in_flight_count: 0 });
  });
});

describe("seek without a retention", () => {
  it("ts=now skips the backlog: only what is published after it is delivered", async () => {
    const topic = unique("skip");
    await createChannel(topic, "c");
    for (let i = 0; i < 5; i++) await pubHttp(topic, `old${i}`);
    expect(await seek(topic, "c", "now")).toEqual({ ready: 0 });
    expect((await channelStats(topic, "c"))!.depth).toBe(0);
    await sleep(2);
    await pubHttp(topic, "new");
    const c = await consumer(topic, "c", 10);
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["new"]);
    await expectSilence(c, 100);
  });

  it("FINished messages do not come back; unfinished ones since ts stay, earlier ones are skipped", async () => {
    const topic = unique("skip");
    await createChannel(topic, "c");
    const t = await publishAround(topic, 6, 3);
    const c = await consumer(topic, "c", 1);
    const [first] = await receive(c, 1);
    // In one message: the FIN frees no slot for the next delivery.
    c.send(cmd.fin(first.id), cmd.rdy(0));
    await expectSilence(c, 100);
    expect(await seek(topic, "c", 0)).toEqual({ ready: 5 });
    expect(await seek(topic, "c", t)).toEqual({ ready: 3 });
    c.send(cmd.rdy(10));
    expect(bodies(await receive(c, 3, { fin: true }))).toEqual(["m3", "m4", "m5"]);
  });

  it("answers nsqd-style errors", async () => {
    const topic = unique("skip");
    await createChannel(topic, "c");
    expect(await (await post(`/channel/seek?topic=${topic}&channel=c`)).json()).toEqual({ message: "MISSING_ARG_TS" });
    expect(await (await post(`/channel/seek?topic=${topic}&channel=c&ts=yesterday`)).json()).toEqual({ message: "INVALID_TS" });
    expect((await post(`/channel/seek?topic=${topic}&channel=nope&ts=now`)).status).toBe(404);
    expect((await http(`/channel/seek?topic=${topic}&channel=c&ts=now`)).status).toBe(405);
  });
});
