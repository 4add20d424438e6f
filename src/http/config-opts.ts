// GET/PUT /config/:opt, as nsqd's: an option's value by its config name, as JSON (durations in
// nanoseconds, as Go's time.Duration). Here the options are the Worker's vars (wrangler.toml),
// fixed for a deploy, so PUT changes nothing: nsqd's answers for an option it cannot set (400
// INVALID_OPTION), after nsqd's check of the body (413 INVALID_VALUE when empty or too big).
// GET /config (nsq-edge's) lists the options there are.
import type { Context } from "hono";
import { config, type Config, type Env } from "../config";
import { HttpError, nsqJson } from "./respond";
import type { RouteFn } from "./nsqd";

type C = Context<{ Bindings: Env }>;

const ns = (ms: number) => ms * 1e6;

/** nsqd's option names (its `cfg` tags) for what this service has, and their values. */
const OPTIONS: Record<string, (c: Config) => unknown> = {
  max_msg_size: (c) => c.maxMsgSize,
  max_body_size: (c) => c.maxBodySize,
  max_rdy_count: (c) => c.maxRdyCount,
  msg_timeout: (c) => ns(c.msgTimeout),
  max_msg_timeout: (c) => ns(c.maxMsgTimeout),
  max_req_timeout: (c) => ns(c.maxReqTimeout),
  max_heartbeat_interval: (c) => ns(c.maxHeartbeatInterval),
  max_output_buffer_size: (c) => c.maxOutputBufferSize,
  max_output_buffer_timeout: (c) => ns(c.maxOutputBufferTimeout),
  min_output_buffer_timeout: (c) => ns(c.minOutputBufferTimeout),
  http_client_request_timeout: (c) => ns(c.httpClientRequestTimeout),
  e2e_processing_latency_percentiles: (c) => c.e2ePercentiles,
  e2e_processing_latency_window_time: (c) => ns(c.e2eWindowTime),
  auth_http_addresses: (c) => c.auth.addresses,
  // The service is its own lookupd: it registers with none.
  nsqlookupd_tcp_addresses: () => [],
  // nsq-edge's: the shards of a topic created without a count.
  topic_shards: (c) => c.topicShards,
};

export function configRoutes(route: RouteFn) {
  route("GET", "/config", "read", (c) => nsqJson({ options: Object.keys(OPTIONS) }));
  route("GET", "/config/:opt", "read", get);
  // (Any identity: a PUT changes nothing here.)
  route("PUT", "/config/:opt", "read", put);
}

function get(c: C) {
  const opt = c.req.param("opt") ?? "";
  // (Own keys only: "constructor" is no option.)
  if (!Object.hasOwn(OPTIONS, opt)) throw new HttpError(400, "INVALID_OPTION");
  return nsqJson(OPTIONS[opt]!(config(c.env)));
}

async function put(c: C): Promise<Response> {
  const max = config(c.env).maxMsgSize + 1;
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.length === 0 || body.length >= max) throw new HttpError(413, "INVALID_VALUE");
  throw new HttpError(400, "INVALID_OPTION");
}
