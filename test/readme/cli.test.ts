// README "The nsq-edge command": each line of the block run with bash, `nsq-edge` on PATH as
// bin/nsq-edge.mjs (what `npx nsq-edge` runs), the service given as $NSQ_EDGE_URL (the README's
// default for --url) and `nsq-edge dev` given a free port and a fresh directory by
// $NSQ_EDGE_PORT and $NSQ_EDGE_DATA; the bridge's listeners get port 0 (flags appended).
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TopicStats, Stats } from "../../src/stats";
import { Service, freePort } from "../e2e/service";
import { readmeSnippet } from "../helpers/readme";
import { channelStats } from "../helpers/service";
import { eventually } from "../helpers/wait";
import { Run, binDir, commands, sh } from "./run";

let svc: Service;
let env: Record<string, string>;
const dirs: string[] = [];
const lines = commands(readmeSnippet("cli"));

beforeAll(async () => {
  svc = await Service.create();
  const bin = binDir();
  dirs.push(bin);
  env = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, NSQ_EDGE_URL: svc.url };
});
afterAll(async () => {
  await svc?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "nsq-edge-readme-"));
  dirs.push(d);
  return d;
};

async function topicStats(topic: string): Promise<TopicStats | undefined> {
  const stats = (await (await svc.fetch(`/stats?format=json&topic=${topic}`)).json()) as Stats;
  return stats.topics!.find((t) => t.topic_name === topic);
}

it("the block is the commands this file runs", () => {
  expect(lines).toEqual([
    "nsq-edge dev",
    "nsq-edge bridge",
    `nsq-edge pub orders '{"id":1}' '{"id":2}'`,
    "tail -f app.log | nsq-edge pub logs",
    "nsq-edge tail orders",
    "nsq-edge tail orders --channel billing -n 10",
    "nsq-edge stat orders billing --interval 1s",
  ]);
});

it("nsq-edge dev: serves the local service", async () => {
  const port = await freePort();
  const dev = Run.sh(`exec ${lines[0]}`, { env: { ...env, NSQ_EDGE_PORT: String(port), NSQ_EDGE_DATA: tmp() } });
  try {
    await dev.waitFor(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}\\b`), 60_000);
    expect(await (await fetch(`http://127.0.0.1:${port}/ping`)).text()).toBe("OK");
  } finally {
    await dev.stop();
  }
});

it("nsq-edge bridge: listens, in front of $NSQ_EDGE_URL", async () => {
  const bridge = Run.sh(`exec ${lines[1]} --tcp-address 127.0.0.1:0 --lookupd-http-address 127.0.0.1:0 --http-address 127.0.0.1:0`, { env });
  try {
    await bridge.waitFor(/nsqd HTTP\s+127\.0\.0\.1:\d+ -> /);
    expect(bridge.stdout).toContain(`nsq-edge bridge to ${svc.url}\n`);
  } finally {
    await bridge.stop();
  }
});

it("pub, tail, tail -n, stat on orders/billing", async () => {
  for (const p of ["/topic/create?topic=orders", "/channel/create?topic=orders&channel=billing"])
    expect((await svc.fetch(p, { method: "POST" })).status).toBe(200);
  // `nsq-edge tail orders`: its own ephemeral channel, so it sees what is published from now on.
  const tail = Run.sh(`exec ${lines[4]}`, { env });
  try {
    await eventually(async () => expect((await topicStats("orders"))?.channels).toHaveLength(2), 20_000);
    const pub = await sh(lines[2], { env });
    expect([pub.code, pub.stderr]).toEqual([0, "published 2 messages to orders\n"]);
    await tail.waitFor(/\{"id":1\}\n\{"id":2\}\n/);
  } finally {
    await tail.stop();
  }
  // billing has the two; eight more make the ten that `-n 10` takes, and then it exits.
  expect(await (await svc.fetch("/mpub?topic=orders", { method: "POST", body: [3, 4, 5, 6, 7, 8, 9, 10].map((id) => JSON.stringify({ id })).join("\n") })).text()).toBe("OK");
  const ten = await sh(lines[5], { env });
  expect([ten.code, ten.stderr]).toEqual([0, ""]);
  expect(ten.stdout.trim().split("\n")).toHaveLength(10);
  expect(ten.stdout).toContain('{"id":1}\n');
  await eventually(async () => expect(await channelStats(svc.url, "orders", "billing")).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 10 }));
  // `stat`: a header, then a line a second with the channel's totals (10 messages, 0 deep).
  const stat = Run.sh(`exec ${lines[6]}`, { env });
  try {
    await stat.waitFor(/^\s+0\s+0 \|\s+0\s+0\s+0\s+0\s+0 \|\s+0\s+0\s+10\s+0\n/m, 10_000);
    expect(stat.stdout).toMatch(/^------rate------/);
  } finally {
    await stat.stop();
  }
});

it("tail -f app.log | nsq-edge pub logs: lines are published as they are written", async () => {
  const dir = tmp();
  const log = path.join(dir, "app.log");
  writeFileSync(log, "started\nlistening\n");
  const pipe = Run.sh(lines[3], { env, cwd: dir });
  try {
    await eventually(async () => expect((await topicStats("logs"))?.message_count).toBe(2), 20_000);
    appendFileSync(log, "request 1\n");
    await eventually(async () => expect((await topicStats("logs"))?.message_count).toBe(3), 20_000);
  } finally {
    await pipe.stop();
  }
});
