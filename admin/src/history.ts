// What the charts draw from: the counters of every poll of /stats, kept per topic and per channel
// for a few minutes. Rates are deltas of message_count (and requeue/timeout counts) between polls.
import type { ChannelStats, Stats, TopicStats } from "./api";

export interface Sample {
  t: number; // ms
  messages: number;
  depth: number;
  inFlight: number;
  deferred: number;
  requeued: number;
  timedOut: number;
}

export interface Point {
  t: number;
  v: number;
}

const KEEP_MS = 5 * 60_000;
const series = new Map<string, Sample[]>();

export const topicKey = (topic: string) => topic;
export const channelKey = (topic: string, channel: string) => `${topic}\u0000${channel}`;

function push(key: string, sample: Sample) {
  let list = series.get(key);
  if (!list) series.set(key, (list = []));
  const last = list[list.length - 1];
  // Counters went backwards: the topic or channel was deleted and created again.
  if (last && sample.messages < last.messages) list.length = 0;
  list.push(sample);
  while (list.length > 2 && sample.t - list[0].t > KEEP_MS) list.shift();
}

const topicSample = (t: number, s: TopicStats): Sample => ({
  t,
  messages: s.message_count,
  depth: s.depth,
  inFlight: 0,
  deferred: 0,
  requeued: 0,
  timedOut: 0,
});

const channelSample = (t: number, c: ChannelStats): Sample => ({
  t,
  messages: c.message_count,
  depth: c.depth,
  inFlight: c.in_flight_count,
  deferred: c.deferred_count,
  requeued: c.requeue_count,
  timedOut: c.timeout_count,
});

/**
 * Records one poll. `complete` says the answer covers every topic (no filter), so a topic or
 * channel missing from it is gone and its history is dropped.
 */
export function record(stats: Stats, t: number, complete: boolean) {
  const seen = new Set<string>();
  for (const topic of stats.topics ?? []) {
    const tk = topicKey(topic.topic_name);
    seen.add(tk);
    push(tk, topicSample(t, topic));
    for (const ch of topic.channels) {
      const ck = channelKey(topic.topic_name, ch.channel_name);
      seen.add(ck);
      push(ck, channelSample(t, ch));
    }
  }
  if (complete) for (const key of series.keys()) if (!seen.has(key)) series.delete(key);
}

export const samples = (key: string): Sample[] => series.get(key) ?? [];

/** Per-second rate of a counter between consecutive samples. */
export function rateSeries(key: string, field: "messages" | "requeued" | "timedOut" = "messages"): Point[] {
  const list = samples(key);
  const out: Point[] = [];
  for (let i = 1; i < list.length; i++) {
    const dt = (list[i].t - list[i - 1].t) / 1000;
    if (dt <= 0) continue;
    out.push({ t: list[i].t, v: Math.max(0, (list[i][field] - list[i - 1][field]) / dt) });
  }
  return out;
}

/** A gauge (depth, in flight, deferred) over time. */
export function gaugeSeries(key: string, field: "depth" | "inFlight" | "deferred"): Point[] {
  return samples(key).map((s) => ({ t: s.t, v: s[field] }));
}

/** The latest rate of a counter, or null before two polls. */
export function currentRate(key: string): number | null {
  const r = rateSeries(key);
  return r.length ? r[r.length - 1].v : null;
}

/** Forgets a topic (and its channels) or one channel: after a delete from this page. */
export function forget(topic: string, channel?: string) {
  for (const key of [...series.keys()]) {
    if (channel === undefined ? key === topic || key.startsWith(`${topic}\u0000`) : key === channelKey(topic, channel)) {
      series.delete(key);
    }
  }
}

/** Forgets everything: on log out, so the next identity's charts hold nothing of the last one's. */
export const forgetAll = () => series.clear();
