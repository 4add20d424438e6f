// nsqd's /stats schema (format=json), shared by the objects that produce it and the admin UI
// that reads it. Types only: no imports, so any bundle may use it.

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
}

export interface Stats {
  version: string;
  health: string;
  start_time: number;
  topics: TopicStats[] | null;
}
