// README "Publish with curl": each line of the block, run with bash against the service (the
// README's http://127.0.0.1:4151 rewritten to the test service's URL), with the answers it names.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stats } from "../../src/stats";
import { Service } from "../e2e/service";
import { readmeSnippet } from "../helpers/readme";
import { commands, sh } from "./run";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(async () => {
  await svc?.stop();
});

it("curl: every line runs and answers as the README says", async () => {
  const lines = commands(readmeSnippet("curl"));
  expect(lines.every((l) => l.includes("'http://127.0.0.1:4151/"))).toBe(true);
  const out: string[] = [];
  for (const line of lines) {
    const res = await sh(line.replaceAll("http://127.0.0.1:4151", svc.url));
    expect([res.code, res.stderr], line).toEqual([0, expect.any(String)]);
    out.push(res.stdout);
  }
  const [pub, dpub, mpub, channel, statsText, statsJson, lookup] = out;
  expect(lines).toHaveLength(7);
  expect([pub, dpub, mpub]).toEqual(["OK", "OK", "OK"]);
  expect(channel).toBe("");
  expect(statsText).toMatch(/^nsqd v/);
  // hello, later, one, two, three: all in the channel, `later` deferred.
  expect(statsText).toMatch(/\[orders\s+\] depth: 0 .* msgs: 5 /);
  expect(statsText).toMatch(/\[billing\s+\] depth: 4 .* def: 1 /);
  const stats = JSON.parse(statsJson) as Stats;
  const orders = stats.topics!.find((t) => t.topic_name === "orders");
  expect(orders).toMatchObject({ message_count: 5 });
  expect(orders!.channels).toMatchObject([{ channel_name: "billing", depth: 4, deferred_count: 1 }]);
  // nsqlookupd's answer: the topic's channels and this service as its producer.
  const { port } = new URL(svc.url);
  expect(JSON.parse(lookup)).toMatchObject({
    channels: ["billing"],
    producers: [{ broadcast_address: "127.0.0.1", http_port: Number(port) }],
  });
});
