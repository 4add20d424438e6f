// What the charts draw from: the counters of every poll of /stats, kept per topic and per channel
// (and summed over all of them) for a few minutes. Rates are deltas of message_count (and
// requeue/timeout counts) between polls. The history is also kept in localStorage, so the charts
// after a reload go on from where they were.
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

/**
 * The sum over every channel (messages, queues, requeues, timeouts; depth adds the topics' own),
 * from the polls that cover every topic: the counter's and the node's. Topic names have no NUL.
 */
export const TOTAL = "\u0000all";

function push(key: string, sample: Sample) {
  let list = series.get(key);
  if (!list) series.set(key, (list = []));
  const last = list[list.length - 1];
  // Counters went backwards: the topic or channel was deleted and created again. (The total
  // drops when a channel goes, and goes on: its rate just reads 0 for that poll.)
  if (last && sample.messages < last.messages && key !== TOTAL) list.length = 0;
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

function totalSample(t: number, topics: TopicStats[]): Sample {
  const sum: Sample = { t, messages: 0, depth: 0, inFlight: 0, deferred: 0, requeued: 0, timedOut: 0 };
  for (const topic of topics) {
    sum.depth += topic.depth;
    for (const c of topic.channels) {
      const s = channelSample(t, c);
      for (const f of ["messages", "depth", "inFlight", "deferred", "requeued", "timedOut"] as const) sum[f] += s[f];
    }
  }
  return sum;
}

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
  if (complete) {
    push(TOTAL, totalSample(t, stats.topics ?? []));
    seen.add(TOTAL);
    for (const key of series.keys()) if (!seen.has(key)) series.delete(key);
  }
  save();
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
  save();
}

/** Forgets everything: on log out, so the next identity's charts hold nothing of the last one's. */
export function forgetAll() {
  series.clear();
  owner = null;
  try {
    localStorage.removeItem(STORED);
  } catch {
    // storage unavailable: nothing was kept
  }
}

// In localStorage, one key for the whole history: {v, owner, series: {key: [[t, messages, depth,
// inFlight, deferred, requeued, timedOut], ...]}}. Arrays, not objects: a third of the size.
const STORED = "nsq-edge-admin.history";
const VERSION = 1;
const FIELDS = ["t", "messages", "depth", "inFlight", "deferred", "requeued", "timedOut"] as const;
// Far below the browser's ~5 MB per origin, which the other keys share: past it, the oldest go.
const MAX_CHARS = 1_500_000;
// Who the kept history belongs to (the identity, "" with auth off); null: not restored yet, so
// nothing is written (the login form's tab must not overwrite the last identity's history).
let owner: string | null = null;

/**
 * Takes back the history a previous page load kept, when it was `who`'s: what is older than the
 * window is dropped, and anything unreadable is ignored. Later polls are kept for `who`.
 */
export function restore(who: string, now = Date.now()) {
  owner = who;
  let doc: unknown;
  try {
    doc = JSON.parse(localStorage.getItem(STORED) ?? "null");
  } catch {
    return;
  }
  if (!isRecord(doc) || doc.v !== VERSION || doc.owner !== who || !isRecord(doc.series)) return;
  for (const [key, rows] of Object.entries(doc.series)) {
    if (!Array.isArray(rows)) continue;
    const list: Sample[] = [];
    for (const row of rows) {
      if (!Array.isArray(row) || row.length !== FIELDS.length || !row.every(Number.isFinite)) continue;
      const sample = Object.fromEntries(FIELDS.map((f, i) => [f, row[i]])) as unknown as Sample;
      // Out of order or from the future: a clock that moved. Keep what precedes it.
      if (sample.t > now || (list.length && sample.t <= list[list.length - 1].t)) break;
      if (now - sample.t <= KEEP_MS) list.push(sample);
    }
    if (list.length) series.set(key, list);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Writes the history; while it is too big (or over the quota), without its older half. */
function save() {
  if (owner === null) return;
  const times = [...series.values()].flatMap((list) => list.map((s) => s.t)).sort((a, b) => a - b);
  for (let from = 0; ; from += Math.ceil((times.length - from) / 2)) {
    const since = times[from] ?? Infinity;
    const kept = [...series].map(([key, list]) => [key, list.filter((s) => s.t >= since).map((s) => FIELDS.map((f) => s[f]))] as const);
    const text = JSON.stringify({ v: VERSION, owner, series: Object.fromEntries(kept.filter(([, rows]) => rows.length)) });
    try {
      if (text.length <= MAX_CHARS) return localStorage.setItem(STORED, text);
    } catch {
      // over the origin's quota: fewer
    }
    if (from >= times.length) return;
  }
}
