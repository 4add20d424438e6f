// nsqd's plain-text /stats layout (what `curl host:4151/stats` prints), line for line.
import { VERSION } from "../config";
import type { ClientStats, TopicStats } from "../stats";

interface StatsDoc {
  health: string;
  topics: TopicStats[] | null;
  memory?: Record<string, number>;
}

const left = (v: string | number, width: number) => String(v).padEnd(width, " ");

/** Go's Duration.String() for whole seconds: 0s, 5s, 1m2s, 1h0m5s. */
function goDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${m}m${r}s`;
  if (m > 0) return `${m}m${r}s`;
  return `${r}s`;
}

function clientLine(c: ClientStats, now: number): string {
  // As Go's SplitHostPort: no port (an address known by its IP alone) prints as "".
  const port = /:(\d+)$/.exec(c.remote_address)?.[1] ?? "";
  const id = `${c.hostname}:${port} ${c.user_agent}`;
  return (
    `[V2 ${left(id, 21)}] state: ${c.state} inflt: ${left(c.in_flight_count, 4)} rdy: ${left(c.ready_count, 4)} ` +
    `fin: ${left(c.finish_count, 8)} re-q: ${left(c.requeue_count, 8)} msgs: ${left(c.message_count, 8)} ` +
    `connected: ${goDuration(now - c.connect_ts)}`
  );
}

export function statsText(doc: StatsDoc, startTime: number): string {
  const now = Math.floor(Date.now() / 1000);
  let out = `nsqd v${VERSION} (nsq-edge)\n`;
  out += `start_time ${new Date(startTime * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")}\n`;
  out += `uptime ${goDuration(now - startTime)}\n`;
  out += `\nHealth: ${doc.health}\n`;
  if (doc.memory) {
    out += `\nMemory:\n`;
    for (const [k, v] of Object.entries(doc.memory)) out += `   ${left(k, 25)}\t${v}\n`;
  }
  const topics = doc.topics ?? [];
  if (topics.length === 0) out += `\nTopics: None\n`;
  else {
    out += `\nTopics:`;
    for (const t of topics) {
      out += `\n${t.paused ? "*P " : "   "}[${left(t.topic_name, 15)}] depth: ${left(t.depth, 5)} be-depth: ${left(t.backend_depth, 5)} msgs: ${left(t.message_count, 8)} e2e%: \n`;
      for (const ch of t.channels) {
        out +=
          `${ch.paused ? "   *P " : "      "}[${left(ch.channel_name, 25)}] depth: ${left(ch.depth, 5)} be-depth: ${left(ch.backend_depth, 5)} ` +
          `inflt: ${left(ch.in_flight_count, 4)} def: ${left(ch.deferred_count, 4)} re-q: ${left(ch.requeue_count, 5)} ` +
          `timeout: ${left(ch.timeout_count, 5)} msgs: ${left(ch.message_count, 8)} e2e%: \n`;
        for (const c of ch.clients ?? []) out += `        ${clientLine(c, now)}\n`;
      }
    }
  }
  out += `\nProducers: None\n`;
  return out;
}
