// What GET /channel/peek answers (src/http/queue-tools.ts), shared by the service, the admin UI
// and the tests. No imports, so any bundle may use it.

/** Where a dead letter came from, as its meta holds it (src/channel/dead-letters.ts). */
export interface Origin {
  topic: string;
  channel: string;
  /** The message's id there (16 hex digits, as on the wire). */
  id: string;
  attempts: number;
  /** Its publish time there (ms since the epoch). */
  timestamp: number;
  reason: string;
  /** When it was buried (ms since the epoch). */
  dead_at: number;
}

/** A queued message as peek shows it. */
export interface ShownMessage {
  id: string;
  /** Its publish time, ms. */
  timestamp: number;
  attempts: number;
  /** The body as text when it is printable UTF-8, else its bytes in base64. */
  body: string;
  body_encoding: "utf8" | "base64";
  deferred_until?: number;
  /** A dead letter's. */
  origin?: Origin;
}
