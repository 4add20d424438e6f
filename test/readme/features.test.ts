// README "Beyond nsqd": each line of the block, run with bash against the service (the README's
// http://127.0.0.1:4151 rewritten to the test service's URL), with the answers it names.
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

it("settings: every line runs and answers as the README says", async () => {
  const lines = commands(readmeSnippet("features"));
  const out: string[] = [];
  for (const line of lines) {
    const res = await sh(line.replaceAll("http://127.0.0.1:4151", svc.url));
    expect([res.code, res.stderr], line).toEqual([0, expect.any(String)]);
    out.push(res.stdout);
  }
  const [topic, channel, channelConfig, topicConfig, pub1, pub2, peek, seek, dlTopic, dlChannel, redrive] = out;
  expect(lines).toHaveLength(11);
  expect([topic, channel, dlTopic, dlChannel]).toEqual(["", "", "", ""]);
  expect(JSON.parse(channelConfig!)).toMatchObject({ max_attempts: 5, dead_letter_topic: "invoices.dead", msg_ttl: "24h", max_depth: 100000, retention: "72h" });
  expect(JSON.parse(topicConfig!)).toMatchObject({ dedup_window: "10m" });
  expect([pub1, pub2]).toEqual(["OK", "OK"]);
  // Stored once: peek shows one message; the seek to now skips it.
  expect(JSON.parse(peek!).messages).toMatchObject([{ body: "invoice 1001", body_encoding: "utf8", attempts: 0 }]);
  expect(JSON.parse(seek!)).toEqual({ ready: 0 });
  expect(JSON.parse(redrive!)).toMatchObject({ rate: 100, to: "channel" });
  const stats = (await (await svc.fetch("/stats?format=json&topic=invoices")).json()) as Stats;
  expect(stats.topics![0]).toMatchObject({ duplicate_count: 1, message_count: 1 });
  expect(stats.topics![0]!.channels[0]).toMatchObject({ depth: 0 });
});
