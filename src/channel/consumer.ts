// A consumer of the channel (one V2 session's subscription): its settings from IDENTIFY, its RDY
// and what it has in flight, and how /stats shows it (nsqd's ClientV2Stats).
import type { ClientInfo } from "../protocol/link";
import type { ClientStats } from "../stats";

/** What survives hibernation with the connection. */
export interface ConsumerState {
  info: ClientInfo;
  rdy: number;
  /** CLS: it takes nothing more. */
  closing: boolean;
}

export interface Consumer<C> extends ConsumerState {
  /** The connection it is served on (the object's WebSocket). */
  conn: C;
  /** Its place in the rotation of the fair share, increasing in the order consumers joined. */
  turn: number;
  inFlight: number;
  messageCount: number;
  finishCount: number;
  requeueCount: number;
}

const STATE_SUBSCRIBED = 3;
const STATE_CLOSING = 4;

export function clientStats(c: Consumer<unknown>): ClientStats {
  return {
    client_id: c.info.client_id,
    hostname: c.info.hostname,
    version: "V2",
    remote_address: c.info.remote_address,
    state: c.closing ? STATE_CLOSING : STATE_SUBSCRIBED,
    ready_count: c.rdy,
    in_flight_count: c.inFlight,
    message_count: c.messageCount,
    finish_count: c.finishCount,
    requeue_count: c.requeueCount,
    connect_ts: c.info.connect_ts,
    sample_rate: c.info.sample_rate,
    deflate: c.info.deflate,
    snappy: c.info.snappy,
    user_agent: c.info.user_agent,
    topology_zone: "",
    topology_region: "",
    tls: c.info.tls,
    tls_cipher_suite: "",
    tls_version: "",
    tls_negotiated_protocol: "",
    tls_negotiated_protocol_is_mutual: false,
    // nsqd leaves these out when empty (omitempty).
    ...(c.info.authed ? { authed: true } : {}),
    ...(c.info.auth_identity ? { auth_identity: c.info.auth_identity } : {}),
    ...(c.info.auth_identity_url ? { auth_identity_url: c.info.auth_identity_url } : {}),
  };
}
