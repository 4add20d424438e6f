import { expect, it } from "vitest";
import { cmd, text } from "../helpers/v2client";
import { connect, post } from "../helpers/workers";

it("publishes over HTTP and consumes over the V2 WebSocket", async () => {
  const c = await connect();
  await c.subscribe("smoke", "ch", 10);
  const res = await post("/pub?topic=smoke", "hi");
  expect(await res.text()).toBe("OK");
  const m = await c.message();
  expect(text(m)).toBe("hi");
  expect(m.attempts).toBe(1);
  c.send(cmd.fin(m.id));
  c.close();
});
