// Messages as they travel from a topic to its channels (one RPC carries a batch).

export interface MessageBatch {
  /** Topic-assigned ids: integers below 2^53, unique per topic, increasing in publish order. */
  ids: number[];
  /** Publish times, in milliseconds since the epoch. */
  ts: number[];
  /** Delays asked for by DPUB (ms after ts); absent when no message of the batch is deferred. */
  defers?: number[];
  bodies: Uint8Array[];
  /**
   * Where each message came from, as JSON (a dead letter's origin: src/channel/dead-letters.ts);
   * absent when no message of the batch has one.
   */
  metas?: (string | null)[];
}

/** The 16 hex characters that carry a message id on the wire. */
export const hexId = (id: number) => id.toString(16).padStart(16, "0");

