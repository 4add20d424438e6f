import { afterAll, beforeAll, expect, it } from "vitest";
import { cmd, text } from "../helpers/v2client";
import { Service } from "./service";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(async () => {
  await svc?.stop();
});

it("serves HTTP publish and WebSocket consume as a process", async () => {
  const c = await svc.connect();
  await c.subscribe("e2e-smoke", "ch", 5);
  const res = await svc.fetch("/pub?topic=e2e-smoke", { method: "POST", body: "hello" });
  expect(await res.text()).toBe("OK");
  const m = await c.message();
  expect(text(m)).toBe("hello");
  c.send(cmd.fin(m.id));
  c.close();
});
