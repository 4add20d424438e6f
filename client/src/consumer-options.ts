// What a Consumer is configured with (go-nsq's Config, for consumers), what it emits and what
// its stats() reports.
import type { IdentifyOptions } from "./connection.js";
import type { Message } from "./message.js";
import type { TransportOptions } from "./socket.js";

export type Handler = (msg: Message) => unknown;

export interface ConsumerOptions extends IdentifyOptions, TransportOptions {
  /**
   * The service URL (or several lookup URLs): the consumer asks `/lookup?topic=` there and
   * connects to every producer listed. Either this or `nsqdUrls`.
   */
  url?: string | string[];
  /** WebSocket URLs to connect to directly (`wss://host/ws`), without the lookup API. */
  nsqdUrls?: string[];
  /**
   * Connect with the channel named in the URL (`/ws?topic=&channel=`): the channel's own object
   * serves the connection, so a delivery and its FIN cost one event there instead of three. The
   * object then stays awake while the consumer is connected (on Cloudflare, billed for its
   * duration), where otherwise an idle channel's object hibernates. Default false.
   */
  servedByChannel?: boolean;
  /** The message handler (the same as `consumer.on("message", handler)`). */
  handler?: Handler;
  /** Messages in flight at once, over all connections. Default 1. */
  maxInFlight?: number;
  /** Deliveries after which a message is finished and reported ("discard"); 0 = no limit. Default 5. */
  maxAttempts?: number;
  /** Backoff duration unit: level n waits backoffMultiplier × 2^n ms. Default 1000. */
  backoffMultiplier?: number;
  /** Longest backoff, in ms; 0 disables backoff. Default 120000. */
  maxBackoffDuration?: number;
  /** Requeue delay of a failed message: this × attempts ms, capped at maxRequeueDelay. Default 90000. */
  defaultRequeueDelay?: number;
  /** Default 900000. */
  maxRequeueDelay?: number;
  /** How often the lookup API is polled for new producers, in ms. Default 60000. */
  lookupdPollInterval?: number;
  /** Random extra fraction of the poll interval. Default 0.3. */
  lookupdPollJitter?: number;
  /** With more connections than maxInFlight: a connection idle this long loses its RDY to another. Default 10000. */
  lowRdyIdleTimeout?: number;
  /** How often RDY is redistributed in that case, in ms. Default 5000. */
  rdyRedistributeInterval?: number;
  /** First reconnect delay after a dropped connection, in ms (doubles per failure, with jitter). Default 1000. */
  reconnectDelay?: number;
  /** Longest reconnect delay, in ms. Default 60000. */
  maxReconnectDelay?: number;
  /** FIN when the handler resolves, REQ when it throws (and FIN in iteration). Default true. */
  autoResponse?: boolean;
  /** How long close() waits for messages in flight before closing the connections, in ms. Default 30000. */
  closeTimeout?: number;
}

/** go-nsq's defaults, of the options that have one. */
const defaults = {
  maxInFlight: 1,
  maxAttempts: 5,
  backoffMultiplier: 1000,
  maxBackoffDuration: 120_000,
  defaultRequeueDelay: 90_000,
  maxRequeueDelay: 900_000,
  lookupdPollInterval: 60_000,
  lookupdPollJitter: 0.3,
  lowRdyIdleTimeout: 10_000,
  rdyRedistributeInterval: 5000,
  reconnectDelay: 1000,
  maxReconnectDelay: 60_000,
  autoResponse: true,
  closeTimeout: 30_000,
} satisfies ConsumerOptions;

/** The options that have defaults, each set. */
export type ConsumerSettings = Required<Pick<ConsumerOptions, keyof typeof defaults>>;

export function consumerSettings(o: ConsumerOptions): ConsumerSettings {
  const settings: ConsumerSettings = { ...defaults };
  for (const k of Object.keys(defaults) as (keyof ConsumerSettings)[]) {
    const v = o[k];
    if (v != null) (settings as Record<string, unknown>)[k] = v; // as `o[k] ?? default`
  }
  return settings;
}

export interface ConsumerEvents {
  /** A message (registering a listener makes the consumer use handlers rather than iteration). */
  message: Handler;
  /** A message past maxAttempts: it was finished without reaching the handler. */
  discard: (msg: Message) => void;
  /** Lookup or connection failures, server errors, handler failures: informational. */
  error: (err: unknown) => void;
  /** A connection is open and subscribed. */
  connect: (url: string) => void;
  /** A connection closed (it is reconnected unless the consumer is closing). */
  disconnect: (url: string, err?: Error) => void;
  /** Backoff started or continued: RDY 0 everywhere for `ms`. */
  backoff: (ms: number, level: number) => void;
  /** Backoff is over: full RDY again. */
  resume: () => void;
  /** close() finished. */
  close: () => void;
}

export interface ConsumerStats {
  messagesReceived: number;
  messagesFinished: number;
  messagesRequeued: number;
  messagesDiscarded: number;
  connections: number;
  /** Messages delivered and not yet answered. */
  inFlight: number;
  /** The sum of the RDY counts last sent. */
  rdy: number;
  backoffLevel: number;
}
