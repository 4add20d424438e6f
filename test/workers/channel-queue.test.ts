// ChannelQueue on its real store (a Durable Object's SQLite) with a host whose clock the test
// moves: timeouts, TOUCH and REQ without waiting for them. The channel's wire behaviour is tested
// through sessions elsewhere (timeouts.test.ts, flow-control.test.ts).
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import type { Consumer } from "../../src/channel/consumer";
import type { ChannelHost } from "../../src/channel/host";
import { NOT_IN_FLIGHT, NOT_OWNER } from "../../src/channel/in-flight";
import { ChannelQueue } from "../../src/channel/queue";
import { SqlChannelStore } from "../../src/channel/store";
import { packSegments } from "../../src/segment";
import { unique } from "../helpers/workers";

const INFO = {
  client_id: "c", hostname: "h", remote_address: "r", user_agent: "u", msg_timeout: 100,
  sample_rate: 0, connect_ts: 0, deflate: false, snappy: false, tls: false,
  authed: false, auth_identity: "", auth_identity_url: "",
};

const consumer = (name: string): Consumer<string> => ({
  info: INFO, rdy: 0, closing: false, conn: name, turn: 0, inFlight: 0, messageCount: 0, finishCount: 0, requeueCount: 0,
});

/** A queue on a fresh object's storage; `clock.now` is the time, `sent` what went out. */
function setup(state: DurableObjectState) {
  const clock = { now: 1000, timer: Infinity };
  const sent: [conn: string, id: number, attempts: number][] = [];
  const host: ChannelHost<string> = {
    now: () => clock.now,
    random: () => 0,
    send: (conn, msgs, from, to) => {
      for (let i = from; i < to; i++) sent.push([conn, msgs[i].id, msgs[i].attempts + 1]);
      return true;
    },
    timeoutsAt: (at) => (clock.timer = Math.min(clock.timer, at)),
    cancelTimeouts: () => (clock.timer = Infinity),
    flushAcksIn: () => {},
    cancelFlushAcks: () => {},
    setAlarm: () => {},
    deadLetters: () => {},
  };
  const queue = new ChannelQueue(new SqlChannelStore(state.storage), host, 250);
  queue.init("t", "c", 1);
  return { clock, sent, queue };
}

const batch = (n: number) => ({
  ids: Array.from({ length: n }, (_, i) => 1 + i),
  ts: Array.from({ length: n }, () => 1),
  bodies: Array.from({ length: n }, (_, i) => new TextEncoder().encode(`m${1 + i}`)),
});

const stub = () => (env as unknown as Env).CHANNEL.get((env as unknown as Env).CHANNEL.idFromName(unique("queue")));

describe("ChannelQueue with a moved clock", () => {
  it("times out only what is due, asks for the timer at the next deadline, and redelivers", async () => {
    await runInDurableObject(stub() as never, (_: unknown, state: DurableObjectState) => {
      const { clock, sent, queue } = setup(state);
      const a = consumer("a");
      queue.addClient(a);
      queue.setReady(a, 3);
      queue.push(packSegments(batch(3)));
      expect(sent).toEqual([["a", 1, 1], ["a", 2, 1], ["a", 3, 1]]);
      expect(clock.timer).toBe(1100);

      // TOUCH moves 2's deadline; past the maximum (250 ms since delivery) it stops there.
      clock.now = 1050;
      expect(queue.touchMessage(a, 2)).toBeNull();
      expect(queue.touchMessage(consumer("b"), 2)).toBe(NOT_OWNER);
      clock.now = 1100;
      sent.length = 0;
      queue.timeouts();
      // 1 and 3 came back (attempts 2); 2 is still in flight until 1150, then (touched at 1200) 1250.
      expect(sent).toEqual([["a", 1, 2], ["a", 3, 2]]);
      expect(queue.stats(false)).toMatchObject({ in_flight_count: 3, timeout_count: 2, depth: 0 });
      clock.now = 1200;
      expect(queue.touchMessage(a, 2)).toBeNull();
      clock.now = 1249;
      sent.length = 0;
      queue.timeouts();
      expect(sent.map(([, id]) => id)).toEqual([1, 3]);
      clock.now = 1250;
      sent.length = 0;
      queue.timeouts();
      expect(sent.map(([, id, attempts]) => [id, attempts])).toEqual([[2, 2]]);
    });
  });

  it("answers nsqd's reasons, finishes once, and requeues after a delay by the clock", async () => {
    await runInDurableObject(stub() as never, (_: unknown, state: DurableObjectState) => {
      const { clock, sent, queue } = setup(state);
      const a = consumer("a");
      const b = consumer("b");
      queue.addClient(a);
      queue.addClient(b);
      queue.setReady(a, 1);
      queue.push(packSegments(batch(2)));
      expect(sent).toEqual([["a", 1, 1]]);
      expect(queue.finishMessage(b, 1)).toBe(NOT_OWNER);
      expect(queue.finishMessage(a, 1)).toBeNull();
      expect(queue.finishMessage(a, 1)).toBe(NOT_IN_FLIGHT);
      queue.settle();
      expect(sent.map(([, id]) => id)).toEqual([1, 2]);
      expect(queue.requeueMessage(a, 2, 500)).toBeNull();
      queue.settle();
      expect(queue.stats(false)).toMatchObject({ depth: 0, deferred_count: 1, requeue_count: 1, in_flight_count: 0 });
      clock.now = 1499;
      queue.alarm();
      expect(sent.length).toBe(2);
      clock.now = 1500;
      queue.alarm();
      expect(sent[2]).toEqual(["a", 2, 2]);
      // A consumer that goes hands its messages to the others at once.
      queue.setReady(b, 5);
      queue.removeClient(a);
      expect(sent[3]).toEqual(["b", 2, 3]);
    });
  });
});
