// GET /metrics against the service as a process: Prometheus' own linter (promtool, Debian's
// prometheus package) and parser (the official Python client's, Debian's
// python3-prometheus-client) read it; its values are
// /stats' at the same moment; its counters do not go back across a SIGKILL and restart (every
// object evicted); nsqd's e2e processing latency percentiles match latencies this test measured.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stats } from "../../src/stats";
import { cmd, type TestClient } from "../helpers/v2client";
import { sleep } from "../helpers/wait";
import { Service } from "./service";

const PROMTOOL = "/usr/bin/promtool";
const PYTHON = "/usr/bin/python3";

interface Family {
  name: string;
  type: "counter" | "gauge" | "summary" | "histogram" | "unknown";
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** The exposition as prometheus_client's parser reads it (Python's official client). */
function parse(text: string): Family[] {
  const script = [
    "import json, sys",
    "from prometheus_client.parser import text_string_to_metric_families",
    "out = [{'name': f.name, 'type': f.type, 'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in f.samples]} for f in text_string_to_metric_families(sys.stdin.read())]",
    "print(json.dumps(out))",
  ].join("\n");
  const r = spawnSync(PYTHON, ["-c", script], { input: text, encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`prometheus_client could not parse (Debian: apt-get install python3-prometheus-client): ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout) as Family[];
}
/** promtool check metrics: its exit code and what it said (nothing when the exposition is clean). */
function promtool(text: string): { code: number | null; out: string } {
  const r = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is needed (Debian: apt-get install prometheus): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

async function scrape(svc: Service): Promise<{ text: string; families: Map<string, Family>; type: string | null }> {
  const res = await svc.fetch("/metrics");
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, families: new Map(parse(text).map((f) => [f.name, f])), type: res.headers.get("content-type") };
}

/** A sample's value by its name and labels (a family's name is the counter's without _total). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const f = families.get(name.replace(/_total$/, "")) ?? families.get(name.replace(/_(sum|count)$/, ""));
  expect(f, name).toBeDefined();
  const m = f!.samples.find((s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(m, `${name} ${JSON.stringify(labels)}`).toBeDefined();
  return m!.value;
}

async function stats(svc: Service): Promise<Stats> {
  return (await svc.fetch("/stats?format=json&include_clients=false")).json() as Promise<Stats>;
}

async function post(svc: Service, path: string, body?: string) {
  const r = await svc.fetch(path, { method: "POST", body });
  expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
}

describe("/metrics", () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await Service.create({ E2E_PROCESSING_LATENCY_PERCENTILES: "1.0,0.99,0.5" });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it("passes promtool, parses, and says what /stats says at the same moment", async () => {
    await post(svc, "/topic/create?topic=orders");
    await post(svc, "/channel/create?topic=orders&channel=billing");
    await post(svc, "/channel/create?topic=orders&channel=ship%23ephemeral");
    await post(svc, "/topic/create?topic=odd.name_1");
    await post(svc, "/mpub?topic=orders", Array.from({ length: 20 }, (_, i) => `m${i}`).join("\n"));
    await post(svc, "/pub?topic=orders&defer=60000", "later");
    const c: TestClient = await svc.connect();
    await c.subscribe("orders", "billing", 5);
    for (let i = 0; i < 5; i++) {
      const m = await c.message();
      c.send(i < 3 ? cmd.fin(m.id) : cmd.req(m.id, 0));
    }
    c.send(cmd.rdy(0));
    await sleep(1200);
    const s = await stats(svc);
    const { text, families, type } = await scrape(svc);
    expect(type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(promtool(text)).toEqual({ code: 0, out: "" });

    for (const t of s.topics!) {
      const l = { topic: t.topic_name };
      expect(value(families, "nsq_topic_messages_total", l)).toBe(t.message_count);
      expect(value(families, "nsq_topic_message_bytes_total", l)).toBe(t.message_bytes);
      expect(value(families, "nsq_topic_depth", l)).toBe(t.depth);
      for (const ch of t.channels) {
        const cl = { topic: t.topic_name, channel: ch.channel_name };
        expect(value(families, "nsq_channel_depth", cl)).toBe(ch.depth);
        expect(value(families, "nsq_channel_in_flight", cl)).toBe(ch.in_flight_count);
        expect(value(families, "nsq_channel_deferred", cl)).toBe(ch.deferred_count);
        expect(value(families, "nsq_channel_messages_total", cl)).toBe(ch.message_count);
        expect(value(families, "nsq_channel_requeued_total", cl)).toBe(ch.requeue_count);
        expect(value(families, "nsq_channel_timed_out_total", cl)).toBe(ch.timeout_count);
        expect(value(families, "nsq_channel_finished_total", cl)).toBe(ch.finish_count);
        expect(value(families, "nsq_channel_clients", cl)).toBe(ch.client_count);
      }
    }
    const billing = { topic: "orders", channel: "billing" };
    expect(value(families, "nsq_channel_finished_total", billing)).toBe(3);
    expect(value(families, "nsq_channel_requeued_total", billing)).toBe(2);
    expect(value(families, "nsq_channel_delivered_total", billing)).toBeGreaterThanOrEqual(5);
    expect(value(families, "nsq_channel_deferred", billing)).toBe(1);
    expect(value(families, "nsq_topics", {})).toBe(s.topics!.length);
    expect(families.get("nsq_topic_messages")!.type).toBe("counter");
    expect(families.get("nsq_channel_depth")!.type).toBe("gauge");
    expect(families.get("nsq_channel_e2e_processing_latency_seconds")!.type).toBe("summary");
    // A label value is escaped as the format says (the # of an ephemeral channel needs none; a
    // quote or backslash cannot occur in nsqd's names, so the escaping is checked in the unit test).
    expect(text).toContain('channel="ship#ephemeral"');
    c.close();
  });

  it("e2e processing latency: nsqd's percentiles, within 1% + 20 ms of what the consumer measured", async () => {
    await post(svc, "/topic/create?topic=lat");
    await post(svc, "/channel/create?topic=lat&channel=c");
    const c = await svc.connect();
    await c.subscribe("lat", "c", 100);
    const N = 60;
    await post(svc, "/mpub?topic=lat", Array.from({ length: N }, (_, i) => `m${i}`).join("\n"));
    const measured: number[] = [];
    const fins: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const m = await c.message();
      // Held 0 .. 590 ms before the FIN: a spread the percentiles can tell apart.
      const hold = (i * 10) % 600;
      fins.push(
        sleep(hold).then(() => {
          measured.push(Date.now() - Number(m.timestamp / 1_000_000n));
          c.send(cmd.fin(m.id));
        }),
      );
    }
    await Promise.all(fins);
    await sleep(1200);
    const sorted = [...measured].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
    const s = await stats(svc);
    const ch = s.topics!.find((t) => t.topic_name === "lat")!.channels[0]!;
    expect(ch.e2e_processing_latency.count).toBe(N);
    const { families } = await scrape(svc);
    for (const p of ch.e2e_processing_latency.percentiles!) {
      const want = at(p.quantile);
      const got = p.value / 1e6;
      expect(Math.abs(got - want), `q ${p.quantile}: ${got} ms vs ${want} ms measured`).toBeLessThanOrEqual(want * 0.01 + 20);
      const name = "nsq_channel_e2e_processing_latency_seconds";
      expect(value(families, name, { topic: "lat", channel: "c", quantile: String(p.quantile) }) * 1000).toBeCloseTo(got, 3);
      expect(value(families, `${name}_count`, { topic: "lat", channel: "c" })).toBe(N);
    }
    // The topic's: its channels' merged (one channel here: the same).
    expect(s.topics!.find((t) => t.topic_name === "lat")!.e2e_processing_latency).toEqual(ch.e2e_processing_latency);
    c.close();
  });

  it("counters do not go back across a SIGKILL and restart (every object evicted)", async () => {
    await sleep(1200);
    const before = await scrape(svc);
    await svc.kill();
    await svc.start();
    const after = await scrape(svc);
    let counters = 0;
    for (const f of before.families.values()) {
      if (f.type !== "counter") continue;
      for (const m of f.samples) {
        if (!m.name.endsWith("_total")) continue;
        counters++;
        expect(value(after.families, m.name, m.labels), `${m.name} ${JSON.stringify(m.labels)}`).toBeGreaterThanOrEqual(m.value);
      }
    }
    expect(counters).toBeGreaterThan(20);
    expect(promtool(after.text).code).toBe(0);
  });
});
