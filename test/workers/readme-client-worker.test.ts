// The README's Worker / Durable Object snippet (client-worker), its own text as a module, run
// inside workerd: its fetch handler publishes through a service binding (SELF, the nsq-edge
// Worker), and its Billing object's consumer stores what it receives in Durable Object storage.
// Billing is not a class the test config binds (wrangler.toml is the service's), so it is
// constructed here as workerd would, with the real state of a fresh object of a bound class:
// real storage, real runtime, one instance, the consumer living in that object between requests.
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import worker, { Billing } from "readme:client-worker";
import type { Env } from "../../src/config";
import type { StatsDoc } from "../helpers/workers";

const snippetEnv = { NSQ: SELF };

it("the README's Worker snippet publishes from fetch and consumes into a Durable Object's storage", async () => {
  const res = await worker.fetch(new Request("https://app.example/", { method: "POST", body: "order 1" }), snippetEnv);
  expect(await res.text()).toBe("OK");

  const { REGISTRY } = env as unknown as Env;
  const stub = REGISTRY.get(REGISTRY.idFromName("readme-billing"));
  let billing: Billing | undefined;
  await runInDurableObject(stub as never, (_: unknown, state: DurableObjectState) => {
    billing = new Billing(state as never, snippetEnv);
  });
  try {
    const stored = async () =>
      runInDurableObject(stub as never, async (_: unknown, state: DurableObjectState) => [...(await state.storage.list<string>()).values()]);
    const deadline = Date.now() + 15_000;
    while (!(await stored()).includes("order 1") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await stored()).toContain("order 1");
    // Stored, then FIN (the handler's promise resolved): nothing left on the channel.
    await expect
      .poll(async () => {
        const stats = (await SELF.fetch("http://nsq.test/stats?format=json&topic=orders").then((r) => r.json())) as StatsDoc;
        return stats.topics![0].channels[0];
      })
      .toMatchObject({ channel_name: "billing", depth: 0, in_flight_count: 0 });
  } finally {
    await runInDurableObject(stub as never, () => billing?.consumer.close(1000));
  }
});
