// Helpers of the sharded-topic tests.
import { expect } from "vitest";
import { unique, post } from "../helpers/workers";
import { admin, cmd } from "../helpers/semantics";
import type { TestClient } from "../helpers/v2client";
import type { MessageFrame } from "../../src/protocol/frames";

/** A topic of `n` shards with a channel `c`. */
export async function shardedTopic(prefix: string, n: number): Promise<string> {
  const topic = unique(prefix);
  const res = await post(`/topic/create?topic=${topic}&shards=${n}`);
  expect(res.status).toBe(200);
  await admin("/channel/create", topic, "c");
  return topic;
}

/**
 * Receives `n` messages with RDY `rdy`, FINishing each after the next one arrives or a short
 * hold, and checks at every delivery that no more than `rdy` are in flight.
 */
export async function drain(c: TestClient, n: number, rdy: number, holdMs = 2): Promise<MessageFrame[]> {
  const got: MessageFrame[] = [];
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  while (got.length < n) {
    const m = await c.message(10_000);
    inFlight++;
    expect(inFlight, `in flight at delivery ${got.length + 1}`).toBeLessThanOrEqual(rdy);
    got.push(m);
    pending.push(
      new Promise<void>((r) =>
        setTimeout(() => {
          inFlight--;
          c.send(cmd.fin(m.id));
          r();
        }, holdMs),
      ),
    );
  }
  await Promise.all(pending);
  return got;
}

