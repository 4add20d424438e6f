// Values for Durable Object SQL statements, and the `meta` table (key -> value) both objects keep.

/** Bytes as a BLOB value: the view's own bytes (copied when the view is part of a larger buffer). */
export function blob(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}

/** Every row of the `meta` table. */
export function readMeta(sql: SqlStorage): Map<string, SqlStorageValue> {
  const meta = new Map<string, SqlStorageValue>();
  for (const [key, value] of sql.exec(`SELECT key, value FROM meta`).raw<[string, SqlStorageValue]>()) meta.set(key, value);
  return meta;
}

export function setMeta(sql: SqlStorage, key: string, value: SqlStorageValue) {
  sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
}
