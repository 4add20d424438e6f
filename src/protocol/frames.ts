// Server-to-client framing of the V2 protocol.
//
//   [ 4-byte size ][ 4-byte frame type ][ data ... ]
//   size counts the frame type and the data; integers are big-endian.
//
// A message frame's data:
//   [ 8-byte timestamp (ns) ][ 2-byte attempts ][ 16-byte hex id ][ body ... ]

export const FRAME_RESPONSE = 0;
export const FRAME_ERROR = 1;
export const FRAME_MESSAGE = 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function frame(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length + 4);
  view.setUint32(4, type);
  out.set(data, 8);
  return out;
}

export const responseFrame = (text: string) => frame(FRAME_RESPONSE, encoder.encode(text));
export const errorFrame = (text: string) => frame(FRAME_ERROR, encoder.encode(text));

export const MESSAGE_HEADER_SIZE = 26;

/** Writes one message frame into `out` at `offset`; returns the offset after it. */
// A batch of frames goes into one buffer, mostly with one timestamp: reuse the view and the ns value.
let lastOut: Uint8Array | null = null;
let lastView: DataView | null = null;
let lastMs = -1;
let lastNs = 0n;

/** Lowercase hex digits, as character codes. */
const HEX = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * `id`: the 16 characters of the wire id, or one of our numeric ids (< 2^53), written as its 16
 * hex digits here rather than made into a string per message first.
 */
export function writeMessageFrame(
  out: Uint8Array,
  offset: number,
  timestampMs: number,
  attempts: number,
  id: string | number,
  body: Uint8Array,
): number {
  if (out !== lastOut) {
    lastOut = out;
    lastView = new DataView(out.buffer, out.byteOffset);
  }
  const view = lastView!;
  if (timestampMs !== lastMs) {
    lastMs = timestampMs;
    lastNs = BigInt(timestampMs) * 1_000_000n;
  }
  view.setUint32(offset, 4 + MESSAGE_HEADER_SIZE + body.length);
  view.setUint32(offset + 4, FRAME_MESSAGE);
  view.setBigUint64(offset + 8, lastNs);
  view.setUint16(offset + 16, Math.min(attempts, 0xffff));
  if (typeof id === "number") {
    let hi = Math.floor(id / 0x100000000);
    let lo = id >>> 0;
    for (let i = 15; i >= 8; i--, lo >>>= 4) out[offset + 18 + i] = HEX[lo & 15]!;
    for (let i = 7; i >= 0; i--, hi >>>= 4) out[offset + 18 + i] = HEX[hi & 15]!;
  } else {
    for (let i = 0; i < 16; i++) out[offset + 18 + i] = id.charCodeAt(i);
  }
  out.set(body, offset + 34);
  return offset + 34 + body.length;
}

export const messageFrameSize = (body: Uint8Array) => 8 + MESSAGE_HEADER_SIZE + body.length;

export interface Frame {
  type: number;
  data: Uint8Array;
}

/** A message frame's fields, decoded (the client library's Message wraps one). */
export interface MessageFrame {
  timestamp: bigint; // nanoseconds
  attempts: number;
  id: string;
  body: Uint8Array;
}

export function decodeMessage(data: Uint8Array): MessageFrame {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    timestamp: view.getBigUint64(0),
    attempts: view.getUint16(8),
    id: decoder.decode(data.subarray(10, 26)),
    body: data.subarray(26),
  };
}

/** Push parser for the server-to-client byte stream: what a client reads. */
export class FrameReader {
  private buffer = new Uint8Array(0);

  feed(chunk: Uint8Array): Frame[] {
    let buf = this.buffer.length ? concat(this.buffer, chunk) : chunk;
    const frames: Frame[] = [];
    let pos = 0;
    while (buf.length - pos >= 8) {
      const view = new DataView(buf.buffer, buf.byteOffset + pos, 8);
      const size = view.getUint32(0);
      if (buf.length - pos < 4 + size) break;
      frames.push({ type: view.getUint32(4), data: buf.subarray(pos + 8, pos + 4 + size) });
      pos += 4 + size;
    }
    this.buffer = buf.slice(pos);
    return frames;
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export const frameText = (f: Frame) => decoder.decode(f.data);

/**
 * A WebSocket message carries at most this much (the platform's limit is 1 MiB). The WebSocket
 * carries a byte stream, so frames may be cut anywhere between messages.
 */
export const WS_MESSAGE_MAX = 1024 * 1024;

/** Sends `data` in WebSocket-sized pieces. */
export function sendChunked(ws: { send(data: Uint8Array): void }, data: Uint8Array) {
  if (data.length <= WS_MESSAGE_MAX) return ws.send(data);
  for (let at = 0; at < data.length; at += WS_MESSAGE_MAX) ws.send(data.subarray(at, at + WS_MESSAGE_MAX));
}
