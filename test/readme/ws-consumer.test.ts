// README "Consume over WebSocket": the consumer snippet in Node 20 with `ws`, as the README says
// (its `import WebSocket from "ws"` put before it, the URL rewritten to the test service's): it
// prints the published message and FINs it.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Service } from "../e2e/service";
import { readmeSnippet } from "../helpers/readme";
import { channelStats } from "../helpers/service";
import { eventually } from "../helpers/wait";
import { Run } from "./run";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(async () => {
  await svc?.stop();
});

it("ws-consumer: prints the message and FINs it", async () => {
  const snippet = readmeSnippet("ws-consumer");
  expect(snippet).toContain('"ws://127.0.0.1:4151/ws"');
  const code = `import WebSocket from "ws";\n${snippet.replace("ws://127.0.0.1:4151", svc.url.replace("http:", "ws:"))}`;
  const consumer = Run.node(code, "module");
  try {
    // Its SUB creates the channel; then a publish reaches it.
    await eventually(async () => expect((await channelStats(svc.url, "orders", "billing"))?.client_count).toBe(1), 20_000);
    expect(await (await svc.fetch("/pub?topic=orders", { method: "POST", body: "hello from the README" })).text()).toBe("OK");
    const [, id] = await consumer.waitFor(/^([0-9a-f]{16}) hello from the README$/m);
    await eventually(async () => expect(await channelStats(svc.url, "orders", "billing")).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 1, requeue_count: 0 }));
    expect(consumer.stdout).toBe(`${id} hello from the README\n`);
    expect(consumer.stderr).toBe("");
  } finally {
    await consumer.stop();
  }
});
