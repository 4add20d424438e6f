// The channel object's runtime entry points are guarded: a link message that fails midway
// (here a fault injected into the queue, as a storage error would be) closes that consumer's
// connection rather than leaving it half-served, and what it had in flight goes to another.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/config";
import { channelStub } from "../../src/stubs";
import { unique } from "../helpers/workers";
import { channelStats, closeClientsAfterEach, cmd, consumer, eventually, pubHttp, receive, text } from "../helpers/semantics";

closeClientsAfterEach();

describe("a link message that fails midway", () => {
  it("closes that consumer's connection; its message in flight goes to another consumer", async () => {
    const topic = unique("guard");
    const a = await consumer(topic, "ch", 1);
    await pubHttp(topic, "one");
    const [m] = await receive(a, 1);
    await runInDurableObject(channelStub(env as unknown as Env, topic, "ch") as never, (instance) => {
      const queue = (instance as unknown as { queue: { finishMessage(): never } }).queue;
      queue.finishMessage = () => {
        throw new Error("injected fault");
      };
    });
    const b = await consumer(topic, "ch", 1);
    a.send(cmd.fin(m.id));
    await eventually(() => expect(a.closed).toBe(true));
    const [again] = await receive(b, 1);
    expect(again.id).toBe(m.id);
    expect(again.attempts).toBe(2);
    expect(text(again)).toBe("one");
    expect(await channelStats(topic, "ch")).toMatchObject({ client_count: 1, in_flight_count: 1 });
  });
});
