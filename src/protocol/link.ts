// The link from a V2 session (in the Worker) to its channel's object: one WebSocket, opened by
// linkRequest() with the client's ClientInfo in a header, then the channel commands the session
// has already checked, as fixed-size binary records the channel reads without parsing text
// again. Both sides import this module: it is the whole contract between them.
//
//   [ 4-byte sequence number ] then records:
//   'R' [ 4-byte count ]                    RDY
//   'A' [ 4-byte count ]                    RDY, acknowledged: the channel answers a text message
//                                           "rdy <count> <in flight>" once it acts on it (a sharded
//                                           topic's session spreads RDY over links:
//                                           src/v2/rdy-spread.ts)
//   'F' [ 16-byte id ]                      FIN
//   'Q' [ 16-byte id ][ 4-byte delay ms ]   REQ
//   'T' [ 16-byte id ]                      TOUCH
//   'C'                                     CLS

/** What the session tells the channel about its client (nsqd's ClientV2Stats fields). */
export interface ClientInfo {
  client_id: string;
  hostname: string;
  remote_address: string;
  user_agent: string;
  /** Milliseconds. */
  msg_timeout: number;
  sample_rate: number;
  /** Seconds since the epoch. */
  connect_ts: number;
  deflate: boolean;
  snappy: boolean;
  tls: boolean;
  /** nsqd's auth fields: whether the client has authorizations, and its identity. */
  authed: boolean;
  auth_identity: string;
  auth_identity_url: string;
}

const CLIENT_HEADER = "x-nsq-client";
const LINK_URL = "https://channel/consume";

/** The upgrade request that opens a session's link to its channel object. */
export function linkRequest(info: ClientInfo): Request {
  return new Request(LINK_URL, { headers: { Upgrade: "websocket", [CLIENT_HEADER]: JSON.stringify(info) } });
}

const CLIENT_FIELDS: Record<keyof ClientInfo, "string" | "number" | "boolean"> = {
  client_id: "string",
  hostname: "string",
  remote_address: "string",
  user_agent: "string",
  msg_timeout: "number",
  sample_rate: "number",
  connect_ts: "number",
  deflate: "boolean",
  snappy: "boolean",
  tls: "boolean",
  authed: "boolean",
  auth_identity: "string",
  auth_identity_url: "string",
};

/**
 * The ClientInfo of a link request, checked field by field: a missing or mistyped field is an
 * error here, not a NaN deadline later. Throws with the field's name.
 */
export function clientInfoOf(request: Request): ClientInfo {
  let data: unknown;
  try {
    data = JSON.parse(request.headers.get(CLIENT_HEADER) ?? "");
  } catch {
    throw new Error(`link request without a ${CLIENT_HEADER} JSON header`);
  }
  if (typeof data !== "object" || data === null) throw new Error(`${CLIENT_HEADER} is not a JSON object`);
  const info = data as Record<string, unknown>;
  for (const [key, type] of Object.entries(CLIENT_FIELDS)) {
    const v = info[key];
    if (typeof v !== type || (type === "number" && !Number.isFinite(v))) throw new Error(`${CLIENT_HEADER}: ${key} is not a ${type}`);
  }
  if ((info.msg_timeout as number) <= 0) throw new Error(`${CLIENT_HEADER}: msg_timeout must be positive`);
  return Object.fromEntries(Object.keys(CLIENT_FIELDS).map((k) => [k, info[k]])) as unknown as ClientInfo;
}

export type LinkCommand =
  | { op: "RDY"; count: number; ack?: boolean }
  | { op: "FIN" | "TOUCH"; id: string }
  | { op: "REQ"; id: string; delayMs: number }
  | { op: "CLS" };

const R = 0x52, A = 0x41, F = 0x46, Q = 0x51, T = 0x54, C = 0x43;

/** The channel's acknowledgement of an 'A' record: the RDY it now acts on, and the link's messages in flight. */
export const rdyAck = (count: number, inFlight: number) => `rdy ${count} ${inFlight}`;
/** An acknowledgement's RDY and in-flight count, or null if the text is none. */
export function readRdyAck(text: string): { count: number; inFlight: number } | null {
  const m = /^rdy (\d+) (\d+)$/.exec(text);
  return m ? { count: Number(m[1]), inFlight: Number(m[2]) } : null;
}

const size = (c: LinkCommand) => (c.op === "CLS" ? 1 : c.op === "RDY" ? 5 : c.op === "REQ" ? 21 : 17);

export function encodeLink(seq: number, cmds: LinkCommand[]): Uint8Array {
  let total = 4;
  for (const c of cmds) total += size(c);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, seq);
  let at = 4;
  for (const c of cmds) {
    if (c.op === "CLS") out[at] = C;
    else if (c.op === "RDY") {
      out[at] = c.ack ? A : R;
      view.setUint32(at + 1, c.count);
    } else {
      out[at] = c.op === "FIN" ? F : c.op === "TOUCH" ? T : Q;
      // Ids are 16 bytes on the wire; the session has checked that they are.
      for (let i = 0; i < 16; i++) out[at + 1 + i] = c.id.charCodeAt(i);
      if (c.op === "REQ") view.setUint32(at + 17, c.delayMs);
    }
    at += size(c);
  }
  return out;
}

export interface LinkVisitor {
  /** `ack`: answer "rdy <count>" (rdyAck) once acting on it. */
  rdy(count: number, ack: boolean): void;
  /** `id` is the 16-byte id; `at` its offset in `bytes`. */
  fin(bytes: Uint8Array, at: number): void;
  req(bytes: Uint8Array, at: number, delayMs: number): void;
  touch(bytes: Uint8Array, at: number): void;
  cls(): void;
}

/** The sequence number of a link message. */
export const linkSeq = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);

/** Calls the visitor for each record of `records` (a link message after its sequence number). */
export function decodeLink(records: Uint8Array, v: LinkVisitor) {
  const bytes = records;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const op = bytes[at];
    const need = op === C ? 1 : op === R || op === A ? 5 : op === Q ? 21 : op === F || op === T ? 17 : 0;
    if (need === 0 || at + need > bytes.length) return;
    if (op === R || op === A) v.rdy(view.getUint32(at + 1), op === A);
    else if (op === F) v.fin(bytes, at + 1);
    else if (op === T) v.touch(bytes, at + 1);
    else if (op === Q) v.req(bytes, at + 1, view.getUint32(at + 17));
    else v.cls();
    at += need;
  }
}

const HEX: number[] = [];
for (let i = 0; i < 256; i++) HEX.push(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
// Lowercase only: nsqd compares id bytes, and ours are lowercase.
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

/**
 * A 16-hex-digit id as a number, or -1 when it is not one of ours (not hex, or above 2^53:
 * topics issue smaller ids). Lets the channel key in-flight messages by number.
 */
export function idValue(bytes: Uint8Array, at: number): number {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 8; i++) {
    const d = HEX[bytes[at + i]];
    if (d < 0) return -1;
    hi = hi * 16 + d;
  }
  for (let i = 8; i < 16; i++) {
    const d = HEX[bytes[at + i]];
    if (d < 0) return -1;
    lo = lo * 16 + d;
  }
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + lo;
}

/** The id's 16 bytes as text, for error messages. */
export const idText = (bytes: Uint8Array, at: number) =>
  String.fromCharCode.apply(null, bytes.subarray(at, at + 16) as unknown as number[]);
