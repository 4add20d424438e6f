// GET /metrics: Prometheus' text format (src/metrics.ts), protected as /stats (`read`: an
// identity sees only the topics and channels it holds some permission on). Workers have no UDP,
// so nsqd's statsd output is replaced by this: scrape it.
//
// A scrape asks every topic object (32 at a time, each asking its channels at once); scrapes that
// come within a second of one share its answer, so several Prometheus servers, or one scraping
// often, cost no more than one scrape a second.
import type { Context } from "hono";
import { VERSION, type Env } from "../config";
import { CONTENT_TYPE, renderMetrics } from "../metrics";
import type { TopicStats } from "../stats";
import { registryStub } from "../stubs";
import { visibleTo } from "./auth";
import { gatherTopics, START_TIME, type RouteFn } from "./nsqd";

type C = Context<{ Bindings: Env }>;

const MAX_AGE_MS = 1000;

let last: { at: number; env: Env; topics: Promise<TopicStats[]> } | null = null;

export function metricsRoutes(route: RouteFn) {
  route("GET", "/metrics", "read", metrics);
}

function gathered(c: C): Promise<TopicStats[]> {
  const now = Date.now();
  if (last && last.env === c.env && now - last.at < MAX_AGE_MS) return last.topics;
  const topics = (async () => gatherTopics(c.env, await registryStub(c.env).topics(), undefined, false))();
  const entry = { at: now, env: c.env, topics };
  last = entry;
  // The RPCs are this request's: let them finish for the scrapes sharing them if it goes away.
  try {
    c.executionCtx.waitUntil(topics.catch(() => {}));
  } catch {
    // (a test's request may come without an execution context)
  }
  topics.catch(() => {
    if (last === entry) last = null;
  });
  return topics;
}

async function metrics(c: C) {
  const see = visibleTo(c);
  const topics = (await gathered(c))
    .filter((t) => see(t.topic_name))
    .map((t) => ({ ...t, channels: t.channels.filter((ch) => see(t.topic_name, ch.channel_name)) }));
  return new Response(renderMetrics(topics, { version: VERSION, startTime: START_TIME }), { headers: { "Content-Type": CONTENT_TYPE } });
}
