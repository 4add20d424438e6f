// /metrics in Prometheus' text exposition format (version 0.0.4), from the same figures as
// /stats: per topic and per channel, gauges for what is queued now and counters for what has
// happened (each counter is kept in storage with what it counts, so it never goes back across an
// object's eviction or restart: rate() stays right), and nsqd's e2e processing latency as a
// summary. Pure: the stats come in, the text goes out.
//
// The format: `# HELP` and `# TYPE` once per family, then `name{label="value",...} number`;
// label values escape \, " and newline; HELP text escapes \ and newline; counters end in _total.
import type { ChannelStats, TopicStats } from "./stats";
import { valueOf } from "./channel/latency";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "gauge" | "counter" | "summary";

interface Family<T> {
  name: string;
  kind: Kind;
  help: string;
  value: (x: T) => number | undefined;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const labels = (pairs: [string, string][]) => (pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`);
/** Go's strconv.FormatFloat of a sample: integers as such, NaN and infinities by name. */
const num = (n: number) => (Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n));

const TOPIC: Family<TopicStats>[] = [
  { name: "nsq_topic_depth", kind: "gauge", help: "Messages the topic holds itself (its backlog while paused or channel-less).", value: (t) => t.depth },
  { name: "nsq_topic_messages_total", kind: "counter", help: "Messages published to the topic.", value: (t) => t.message_count },
  { name: "nsq_topic_message_bytes_total", kind: "counter", help: "Bytes of message bodies published to the topic.", value: (t) => t.message_bytes },
  { name: "nsq_topic_duplicates_total", kind: "counter", help: "Publishes answered OK as repeats of one stored within the dedup window.", value: (t) => t.duplicate_count },
  { name: "nsq_topic_rejected_total", kind: "counter", help: "Publishes refused because a channel with overflow reject was full.", value: (t) => t.rejected_count },
  { name: "nsq_topic_channels", kind: "gauge", help: "Channels of the topic.", value: (t) => t.channels.length },
  { name: "nsq_topic_paused", kind: "gauge", help: "1 while the topic is paused.", value: (t) => (t.paused ? 1 : 0) },
];

const CHANNEL: Family<ChannelStats>[] = [
  { name: "nsq_channel_depth", kind: "gauge", help: "Messages queued, ready for delivery.", value: (c) => c.depth },
  { name: "nsq_channel_in_flight", kind: "gauge", help: "Messages delivered and not yet FINished, REQueued or timed out.", value: (c) => c.in_flight_count },
  { name: "nsq_channel_deferred", kind: "gauge", help: "Messages deferred (DPUB, REQ with a delay).", value: (c) => c.deferred_count },
  { name: "nsq_channel_held_bytes", kind: "gauge", help: "Bytes of body the channel holds (what max_bytes bounds).", value: (c) => c.held_bytes },
  { name: "nsq_channel_clients", kind: "gauge", help: "Consumers subscribed to the channel.", value: (c) => c.client_count },
  { name: "nsq_channel_paused", kind: "gauge", help: "1 while the channel is paused.", value: (c) => (c.paused ? 1 : 0) },
  { name: "nsq_channel_messages_total", kind: "counter", help: "Messages the channel received from its topic.", value: (c) => c.message_count },
  { name: "nsq_channel_delivered_total", kind: "counter", help: "Deliveries to consumers (each attempt counts).", value: (c) => c.delivery_count },
  { name: "nsq_channel_finished_total", kind: "counter", help: "Messages FINished by consumers.", value: (c) => c.finish_count },
  { name: "nsq_channel_requeued_total", kind: "counter", help: "Messages REQueued by consumers.", value: (c) => c.requeue_count },
  { name: "nsq_channel_timed_out_total", kind: "counter", help: "Messages whose in-flight timeout passed.", value: (c) => c.timeout_count },
  { name: "nsq_channel_dead_total", kind: "counter", help: "Messages moved to the dead-letter topic.", value: (c) => c.dead_count },
  { name: "nsq_channel_expired_total", kind: "counter", help: "Messages past their TTL (dropped or dead-lettered).", value: (c) => c.expired_count },
  { name: "nsq_channel_dropped_total", kind: "counter", help: "Messages pushed out by overflow drop_oldest.", value: (c) => c.dropped_count },
];

const LATENCY_HELP = "Time from publish to FIN (nsqd's e2e processing latency) over E2E_PROCESSING_LATENCY_WINDOW_TIME.";

class Writer {
  lines: string[] = [];
  family(name: string, kind: Kind, help: string) {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${kind}`);
  }
  sample(name: string, pairs: [string, string][], value: number) {
    this.lines.push(`${name}${labels(pairs)} ${num(value)}`);
  }
}

/** A summary's samples from /stats' percentiles (ns) and histogram: quantiles in seconds, _sum, _count. */
function latencySamples(w: Writer, name: string, pairs: [string, string][], x: { e2e_processing_latency: TopicStats["e2e_processing_latency"]; e2e_histogram?: number[][] }) {
  const l = x.e2e_processing_latency;
  if (!l.percentiles) return;
  for (const p of l.percentiles) w.sample(name, [...pairs, ["quantile", String(p.quantile)]], p.value / 1e9);
  // (The sum is the histogram's: each sample at its bucket's value, within 1%.)
  const sum = (x.e2e_histogram ?? []).reduce((s, [b, n]) => s + n! * valueOf(b!), 0);
  w.sample(`${name}_sum`, pairs, sum / 1e9);
  w.sample(`${name}_count`, pairs, l.count);
}

/** The exposition of `topics` (as gatherTopics() returns them: histograms still in). */
export function renderMetrics(topics: readonly TopicStats[], info: { version: string; startTime: number }): string {
  const w = new Writer();
  w.family("nsq_edge_info", "gauge", "The service: its nsqd version and start time (seconds since the epoch) as labels.");
  w.sample("nsq_edge_info", [["version", info.version], ["start_time", String(info.startTime)]], 1);
  w.family("nsq_topics", "gauge", "Topics.");
  w.sample("nsq_topics", [], topics.length);
  w.family("nsq_clients", "gauge", "Consumer connections over all channels.");
  w.sample("nsq_clients", [], topics.reduce((n, t) => n + t.channels.reduce((m, c) => m + c.client_count, 0), 0));
  for (const f of TOPIC) {
    w.family(f.name, f.kind, f.help);
    for (const t of topics) {
      const v = f.value(t);
      if (v !== undefined) w.sample(f.name, [["topic", t.topic_name]], v);
    }
  }
  for (const f of CHANNEL) {
    w.family(f.name, f.kind, f.help);
    for (const t of topics) {
      for (const c of t.channels) {
        const v = f.value(c);
        if (v !== undefined) w.sample(f.name, [["topic", t.topic_name], ["channel", c.channel_name]], v);
      }
    }
  }
  if (topics.some((t) => t.e2e_processing_latency.percentiles)) {
    w.family("nsq_topic_e2e_processing_latency_seconds", "summary", LATENCY_HELP);
    for (const t of topics) latencySamples(w, "nsq_topic_e2e_processing_latency_seconds", [["topic", t.topic_name]], t);
    w.family("nsq_channel_e2e_processing_latency_seconds", "summary", LATENCY_HELP);
    for (const t of topics) {
      for (const c of t.channels) latencySamples(w, "nsq_channel_e2e_processing_latency_seconds", [["topic", t.topic_name], ["channel", c.channel_name]], c);
    }
  }
  return w.lines.join("\n") + "\n";
}
