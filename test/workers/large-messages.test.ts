// Messages of max_msg_size: a delivery larger than one WebSocket message (1 MiB on the
// platform) is cut across several, and the client's frames still parse.
import { expect, it } from "vitest";
import { cmd } from "../helpers/v2client";
import { connect, unique } from "../helpers/workers";

it("delivers five 1 MiB messages to a consumer at RDY 5, intact and in order", async () => {
  const topic = unique("big");
  const c = await connect();
  await c.subscribe(topic, "ch", 5);
  const bodies = Array.from({ length: 5 }, (_, i) => new Uint8Array(1024 * 1024).fill(65 + i));
  const p = await connect();
  p.send(cmd.MAGIC_V2, cmd.mpub(topic, bodies.slice(0, 3)));
  expect(await p.response()).toBe("OK");
  p.send(cmd.pub(topic, bodies[3]), cmd.pub(topic, bodies[4]));
  expect(await p.response()).toBe("OK");
  expect(await p.response()).toBe("OK");
  const got = await c.messages(5, 15_000);
  got.forEach((m, i) => {
    expect(m.body.length).toBe(1024 * 1024);
    expect(m.body.every((b) => b === 65 + i)).toBe(true);
  });
  c.send(...got.map((m) => cmd.fin(m.id)));
  c.close();
  p.close();
});
