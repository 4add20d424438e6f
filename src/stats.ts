// nsqd's /stats schema (format=json), shared by the objects that produce it and the admin UI
// that reads it, and how a sharded topic's shards add up to one topic. No imports, so any
// bundle may use it.

export interface Percentile {
  quantile: number;
  value: number;
}

/** nsqd's quantile.Result: {count: 0, percentiles: null} when no percentile is configured. */
export interface Latency {
  count: number;
  percentiles: Percentile[] | null;
}

export interface ClientStats {
  client_id: string;
  hostname: string;
  version: "V2";
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  user_agent: string;
  topology_zone: string;
  topology_region: string;
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
  /** Present only when auth gave the client authorizations (nsqd's omitempty). */
  authed?: boolean;
  auth_identity?: string;
  auth_identity_url?: string;
}

export interface ChannelStats {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: Latency;
  /** nsq-edge's: events this channel's object has taken since it started (publishes, links' messages, alarms). */
  requests?: number;
  // nsq-edge's settings (src/settings.ts) and what they did.
  /** Messages moved to the dead-letter topic. */
  dead_count?: number;
  /** Messages past their TTL (dropped, or dead-lettered). */
  expired_count?: number;
  /** Messages pushed out by overflow drop_oldest. */
  dropped_count?: number;
  /** Bytes of body the channel holds (what max_bytes bounds). */
  held_bytes?: number;
  /** FINished, and delivered (attempts made), since the channel was created: counters for /metrics. */
  finish_count?: number;
  delivery_count?: number;
  /** The e2e latency's histogram (src/channel/latency.ts), for merging: not in /stats' answer. */
  e2e_histogram?: number[][];
  config?: Record<string, string | number | boolean>;
  /** A dead-letter channel's redrive, if one ran since its object started. */
  redrive?: { rate: number; to: string; moved: number; running: boolean; error: string };
}

export interface TopicStats {
  topic_name: string;
  channels: ChannelStats[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
  e2e_processing_latency: Latency;
  /** nsq-edge's: a sharded topic's shards, each as its own object reports it (shard 0 first). */
  shards?: TopicStats[];
  /** nsq-edge's: events this topic's object has taken since it started (publishes, alarms). */
  requests?: number;
  /** nsq-edge's: publishes answered OK as repeats of one stored within the dedup window. */
  duplicate_count?: number;
  /** nsq-edge's: publishes refused because a channel with overflow reject was full. */
  rejected_count?: number;
  /** The e2e latency's histogram, merged from its channels': not in /stats' answer. */
  e2e_histogram?: number[][];
  config?: Record<string, string | number | boolean>;
}

export interface Stats {
  version: string;
  health: string;
  start_time: number;
  topics: TopicStats[] | null;
}

const sumOf = <T>(items: T[], key: { [K in keyof T]-?: T[K] extends number | undefined ? K : never }[keyof T]) =>
  items.reduce((n, x) => n + ((x[key] as unknown as number | undefined) ?? 0), 0);

/** One client over its links to every shard: counts summed, RDY the sum of its links'. */
function mergeClients(lists: ClientStats[][]): ClientStats[] {
  const byId = new Map<string, ClientStats>();
  for (const list of lists) {
    for (const c of list) {
      const key = `${c.client_id}\n${c.remote_address}\n${c.connect_ts}`;
      const m = byId.get(key);
      if (!m) byId.set(key, { ...c });
      else {
        m.ready_count += c.ready_count;
        m.in_flight_count += c.in_flight_count;
        m.message_count += c.message_count;
        m.finish_count += c.finish_count;
        m.requeue_count += c.requeue_count;
      }
    }
  }
  return [...byId.values()];
}

/** A channel's redrives over its shards: the moves added up, running while one runs. */
function mergeRedrives(cs: ChannelStats[]): Pick<ChannelStats, "redrive"> {
  const rs = cs.flatMap((c) => (c.redrive ? [c.redrive] : []));
  if (rs.length === 0) return {};
  return {
    redrive: {
      rate: rs[0]!.rate,
      to: rs[0]!.to,
      moved: rs.reduce((n, r) => n + r.moved, 0),
      running: rs.some((r) => r.running),
      error: rs.find((r) => r.error)?.error ?? "",
    },
  };
}

/** Latency from a merged histogram (src/channel/latency.ts), given by the caller: this module imports nothing. */
export type LatencyFrom = (histograms: (number[][] | undefined)[]) => Latency;

/** A sharded topic as one topic (nsqd's schema: sums), with each shard's own report in `shards`. */
export function mergeShards(topic: string, shards: TopicStats[], latency: LatencyFrom = () => ({ count: 0, percentiles: null })): TopicStats {
  const names = [...new Set(shards.flatMap((s) => s.channels.map((c) => c.channel_name)))].sort();
  const channels = names.map((name): ChannelStats => {
    const cs = shards.flatMap((s) => s.channels.filter((c) => c.channel_name === name));
    const clients = cs.some((c) => c.clients !== null) ? mergeClients(cs.map((c) => c.clients ?? [])) : null;
    return {
      channel_name: name,
      depth: sumOf(cs, "depth"),
      backend_depth: sumOf(cs, "backend_depth"),
      in_flight_count: sumOf(cs, "in_flight_count"),
      deferred_count: sumOf(cs, "deferred_count"),
      message_count: sumOf(cs, "message_count"),
      requeue_count: sumOf(cs, "requeue_count"),
      timeout_count: sumOf(cs, "timeout_count"),
      client_count: clients ? clients.length : Math.max(...cs.map((c) => c.client_count)),
      clients,
      paused: cs.every((c) => c.paused),
      e2e_processing_latency: latency(cs.map((c) => c.e2e_histogram)),
      dead_count: sumOf(cs, "dead_count"),
      finish_count: sumOf(cs, "finish_count"),
      delivery_count: sumOf(cs, "delivery_count"),
      expired_count: sumOf(cs, "expired_count"),
      dropped_count: sumOf(cs, "dropped_count"),
      held_bytes: sumOf(cs, "held_bytes"),
      config: cs[0]?.config,
      ...mergeRedrives(cs),
    };
  });
  return {
    topic_name: topic,
    channels,
    depth: sumOf(shards, "depth"),
    backend_depth: sumOf(shards, "backend_depth"),
    message_count: sumOf(shards, "message_count"),
    message_bytes: sumOf(shards, "message_bytes"),
    paused: shards.every((s) => s.paused),
    e2e_processing_latency: latency(shards.map((s) => s.e2e_histogram)),
    duplicate_count: sumOf(shards, "duplicate_count"),
    rejected_count: sumOf(shards, "rejected_count"),
    config: shards[0]?.config,
    shards,
  };
}
