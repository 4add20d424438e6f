// Client-to-server command encoders: what a V2 client writes. Used by the client library,
// the bridge's tests and our own.

const encoder = new TextEncoder();

export const MAGIC_V2 = encoder.encode("  V2");

export type Body = Uint8Array | string;

const bytes = (b: Body) => (typeof b === "string" ? encoder.encode(b) : b);

function line(text: string): Uint8Array {
  return encoder.encode(text + "\n");
}

/** A command line followed by a 4-byte size and the body. */
function withBody(text: string, body: Uint8Array): Uint8Array {
  const head = line(text);
  const out = new Uint8Array(head.length + 4 + body.length);
  out.set(head, 0);
  new DataView(out.buffer).setUint32(head.length, body.length);
  out.set(body, head.length + 4);
  return out;
}

export const identify = (data: Record<string, unknown>) =>
  withBody("IDENTIFY", encoder.encode(JSON.stringify(data)));
export const auth = (secret: Body) => withBody("AUTH", bytes(secret));
export const sub = (topic: string, channel: string) => line(`SUB ${topic} ${channel}`);
export const rdy = (count: number) => line(`RDY ${count}`);
export const fin = (id: string) => line(`FIN ${id}`);
export const req = (id: string, delayMs: number) => line(`REQ ${id} ${delayMs}`);
export const touch = (id: string) => line(`TOUCH ${id}`);
export const nop = () => line("NOP");
export const cls = () => line("CLS");
// `key`: nsq-edge's idempotency key, the parameter after nsqd's (src/v2/verbs.ts).
const keyed = (key?: string) => (key === undefined ? "" : ` ${key}`);
export const pub = (topic: string, body: Body, key?: string) => withBody(`PUB ${topic}${keyed(key)}`, bytes(body));
export const dpub = (topic: string, delayMs: number, body: Body, key?: string) =>
  withBody(`DPUB ${topic} ${delayMs}${keyed(key)}`, bytes(body));
export const mpub = (topic: string, bodies: Body[], key?: string) =>
  withBody(`MPUB ${topic}${keyed(key)}`, encodeMpubBody(bodies.map(bytes)));

/**
 * The MPUB body, also the binary format of HTTP /mpub:
 *   [ 4-byte count ][ 4-byte size ][ body ] [ 4-byte size ][ body ] ...
 */
export function encodeMpubBody(bodies: Uint8Array[]): Uint8Array {
  let size = 4;
  for (const b of bodies) size += 4 + b.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, bodies.length);
  let at = 4;
  for (const b of bodies) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

export function concatAll(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
