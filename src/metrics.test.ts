import { describe, expect, it } from "vitest";
import { renderMetrics } from "./metrics";
import type { ChannelStats, TopicStats } from "./stats";

const channel = (name: string, extra: Partial<ChannelStats> = {}): ChannelStats => ({
  channel_name: name, depth: 3, backend_depth: 0, in_flight_count: 1, deferred_count: 0, message_count: 9, requeue_count: 2,
  timeout_count: 0, client_count: 1, clients: null, paused: false, e2e_processing_latency: { count: 0, percentiles: null }, ...extra,
});
const topic = (name: string, channels: ChannelStats[], extra: Partial<TopicStats> = {}): TopicStats => ({
  topic_name: name, channels, depth: 0, backend_depth: 0, message_count: 9, message_bytes: 90, paused: false,
  e2e_processing_latency: { count: 0, percentiles: null }, ...extra,
});

describe("renderMetrics", () => {
  it("writes each family once, HELP and TYPE first, a sample per topic and channel", () => {
    const text = renderMetrics([topic("a", [channel("c1"), channel("c2")]), topic("b", [])], { version: "1.3.0", startTime: 5 });
    const lines = text.split("\n");
    expect(lines.filter((l) => l === "# TYPE nsq_channel_depth gauge")).toHaveLength(1);
    expect(lines.indexOf("# HELP nsq_channel_depth Messages queued, ready for delivery.")).toBe(lines.indexOf("# TYPE nsq_channel_depth gauge") - 1);
    expect(lines).toContain('nsq_channel_depth{topic="a",channel="c2"} 3');
    expect(lines).toContain('nsq_topic_messages_total{topic="b"} 9');
    expect(lines).toContain("# TYPE nsq_topic_messages_total counter");
    expect(lines).toContain("nsq_topics 2");
    expect(lines).toContain('nsq_edge_info{version="1.3.0",start_time="5"} 1');
    expect(text.endsWith("\n")).toBe(true);
    // No latency without percentiles (nsqd records none then).
    expect(text).not.toContain("latency");
  });

  it("escapes label values and HELP text as the format says", () => {
    const text = renderMetrics([topic('we"ird\\na\nme', [])], { version: 'v"1', startTime: 0 });
    expect(text).toContain('nsq_topic_depth{topic="we\\"ird\\\\na\\nme"} 0');
    expect(text).toContain('version="v\\"1"');
  });

  it("writes the e2e latency as a summary: quantiles in seconds, _sum and _count", () => {
    const latency = { count: 4, percentiles: [{ quantile: 0.99, value: 250e6 }, { quantile: 0.5, value: 10e6 }] };
    const text = renderMetrics([topic("a", [channel("c", { e2e_processing_latency: latency, e2e_histogram: [[0, 4]] })], { e2e_processing_latency: latency, e2e_histogram: [[0, 4]] })], { version: "x", startTime: 0 });
    expect(text).toContain("# TYPE nsq_channel_e2e_processing_latency_seconds summary");
    expect(text).toContain('nsq_channel_e2e_processing_latency_seconds{topic="a",channel="c",quantile="0.99"} 0.25');
    expect(text).toContain('nsq_channel_e2e_processing_latency_seconds_count{topic="a",channel="c"} 4');
    expect(text).toMatch(/nsq_topic_e2e_processing_latency_seconds_sum\{topic="a"\} 0\.0000040\d*/);
  });
});

describe("the Grafana dashboard (grafana/nsq-edge-dashboard.json)", () => {
  it("asks only for metric names /metrics writes", async () => {
    const { readFileSync } = await import("node:fs");
    const dash = JSON.parse(readFileSync(new URL("../grafana/nsq-edge-dashboard.json", import.meta.url), "utf8")) as {
      panels: { targets: { expr: string }[] }[];
      templating: { list: { definition?: string }[] };
    };
    const latency = { count: 1, percentiles: [{ quantile: 0.99, value: 1e6 }] };
    const text = renderMetrics([topic("a", [channel("c", { e2e_processing_latency: latency })], { e2e_processing_latency: latency })], { version: "x", startTime: 0 });
    const written = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const exprs = [...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dash.templating.list.flatMap((v) => (v.definition ? [v.definition] : []))];
    const asked = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(nsq_[a-z0-9_]+)/g)].map((m) => m[1]!)));
    expect(asked.size).toBeGreaterThan(10);
    for (const name of asked) expect(written, name).toContain(name);
  });
});
