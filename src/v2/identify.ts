// IDENTIFY: a client's settings negotiated against the config, as nsqd's client_v2.go does it
// (one check per field, in nsqd's order, with nsqd's error text). Pure: (current settings,
// config, body) -> (new settings, the answer) or a ProtocolError; no socket, no clock.
import { VERSION, type Config } from "../config";
import { fatal, ProtocolError } from "../protocol/errors";
import { responseFrame } from "../protocol/frames";
import { OK } from "./responses";

/** What a client has negotiated. Durations in milliseconds. */
export interface Settings {
  clientId: string;
  hostname: string;
  userAgent: string;
  /** 0: heartbeats disabled (then SUB is refused, as by nsqd). */
  heartbeatInterval: number;
  msgTimeout: number;
  sampleRate: number;
  /**
   * Accepted, validated and echoed as nsqd does, and not applied. nsqd writes to a buffered
   * writer and flushes it when this many bytes are buffered or outputBufferTimeout has passed;
   * here there is no writer to buffer: each event's responses leave at once in one WebSocket
   * message, and the channel sends each delivery's frames in one message. Holding them back
   * would only delay delivery.
   */
  outputBufferSize: number;
  outputBufferTimeout: number;
}

/** A client's settings before any IDENTIFY: the config's, named after its address. */
export function initialSettings(cfg: Config, host: string): Settings {
  return {
    clientId: host,
    hostname: host,
    userAgent: "",
    heartbeatInterval: cfg.heartbeatInterval,
    msgTimeout: cfg.msgTimeout,
    sampleRate: 0,
    outputBufferSize: cfg.outputBufferSize,
    outputBufferTimeout: cfg.outputBufferTimeout,
  };
}

/** The IDENTIFY body's fields that mean something here (nsqd's identifyDataV2); null is absent. */
export interface IdentifyData {
  client_id?: string | null;
  hostname?: string | null;
  user_agent?: string | null;
  heartbeat_interval?: number | null;
  output_buffer_size?: number | null;
  output_buffer_timeout?: number | null;
  sample_rate?: number | null;
  msg_timeout?: number | null;
  feature_negotiation?: boolean | null;
}

const FIELD_TYPES: Record<string, "string" | "integer" | "boolean"> = {
  client_id: "string",
  hostname: "string",
  user_agent: "string",
  topology_region: "string",
  topology_zone: "string",
  heartbeat_interval: "integer",
  output_buffer_size: "integer",
  output_buffer_timeout: "integer",
  deflate_level: "integer",
  sample_rate: "integer",
  msg_timeout: "integer",
  feature_negotiation: "boolean",
  tls_v1: "boolean",
  deflate: "boolean",
  snappy: "boolean",
};

const decoder = new TextDecoder();

/**
 * The body as Go's json.Unmarshal reads it into nsqd's struct: a JSON null is "no fields", a
 * field of the wrong type fails the whole body, unknown fields are ignored.
 */
export function parseIdentify(body: Uint8Array): IdentifyData | ProtocolError {
  try {
    const data: unknown = JSON.parse(decoder.decode(body)) ?? {};
    if (typeof data !== "object" || Array.isArray(data)) throw new Error("not an object");
    const fields = data as Record<string, unknown>;
    for (const key in FIELD_TYPES) {
      const v = fields[key];
      if (v === undefined || v === null) continue;
      const type = FIELD_TYPES[key];
      if (!(type === "integer" ? Number.isInteger(v) : typeof v === type)) throw new Error(`${key} is not a ${type}`);
    }
    return fields as IdentifyData;
  } catch {
    return fatal("E_BAD_BODY", "IDENTIFY failed to decode JSON body");
  }
}

export interface Identified {
  settings: Settings;
  /** OK, or with feature_negotiation the negotiated settings as JSON, in nsqd's field order. */
  response: Uint8Array;
}

const invalid = (what: string, value: number) => fatal("E_BAD_BODY", `IDENTIFY ${what} (${value}) is invalid`);

/** nsqd's SetHeartbeatInterval, SetOutputBuffer, SetSampleRate, SetMsgTimeout, in its order. */
export function negotiate(current: Settings, cfg: Config, data: IdentifyData, authRequired = false): Identified | ProtocolError {
  const heartbeat = data.heartbeat_interval ?? 0;
  let heartbeatInterval = current.heartbeatInterval;
  if (heartbeat === -1) heartbeatInterval = 0;
  else if (heartbeat !== 0) {
    if (heartbeat < 1000 || heartbeat > cfg.maxHeartbeatInterval) return invalid("heartbeat interval", heartbeat);
    heartbeatInterval = heartbeat;
  }
  const bufTimeout = data.output_buffer_timeout ?? 0;
  let outputBufferTimeout = current.outputBufferTimeout;
  if (bufTimeout === -1) outputBufferTimeout = 0;
  else if (bufTimeout !== 0) {
    if (bufTimeout < cfg.minOutputBufferTimeout || bufTimeout > cfg.maxOutputBufferTimeout)
      return invalid("output buffer timeout", bufTimeout);
    outputBufferTimeout = bufTimeout;
  }
  const bufSize = data.output_buffer_size ?? 0;
  let outputBufferSize = current.outputBufferSize;
  if (bufSize === -1) {
    // nsqd: "effectively no buffer".
    outputBufferSize = 1;
    outputBufferTimeout = 0;
  } else if (bufSize !== 0) {
    if (bufSize < 64 || bufSize > cfg.maxOutputBufferSize) return invalid("output buffer size", bufSize);
    outputBufferSize = bufSize;
  }
  const sampleRate = data.sample_rate ?? 0;
  if (sampleRate < 0 || sampleRate > 99) return invalid("sample rate", sampleRate);
  const msgTimeout = data.msg_timeout ?? 0;
  if (msgTimeout !== 0 && (msgTimeout < 1000 || msgTimeout > cfg.maxMsgTimeout)) return invalid("msg timeout", msgTimeout);

  const settings: Settings = {
    clientId: data.client_id ?? "",
    hostname: data.hostname ?? "",
    userAgent: data.user_agent ?? "",
    heartbeatInterval,
    msgTimeout: msgTimeout !== 0 ? msgTimeout : current.msgTimeout,
    sampleRate,
    outputBufferSize,
    outputBufferTimeout,
  };
  if (data.feature_negotiation !== true) return { settings, response: OK };
  // TLS is the HTTPS in front of the WebSocket; compression is the WebSocket's, so both are off here.
  const answer = {
    max_rdy_count: cfg.maxRdyCount,
    version: VERSION,
    max_msg_timeout: cfg.maxMsgTimeout,
    msg_timeout: settings.msgTimeout,
    tls_v1: false,
    deflate: false,
    deflate_level: 6,
    max_deflate_level: 6,
    snappy: false,
    sample_rate: settings.sampleRate,
    auth_required: authRequired,
    output_buffer_size: settings.outputBufferSize,
    output_buffer_timeout: settings.outputBufferTimeout,
    topology_region: "",
    topology_zone: "",
  };
  return { settings, response: responseFrame(JSON.stringify(answer)) };
}
