// Values for Durable Object SQL statements.

/** Bytes as a BLOB value: the view's own bytes (copied when the view is part of a larger buffer). */
export function blob(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}
