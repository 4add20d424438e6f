// Publishing over one V2 connection. Every publish is a PUB, MPUB or DPUB whose promise the
// server's answer settles: OK resolves it, an error frame rejects it with an NsqError. The
// server answers in command order, so promises settle in the order publish() was called.
// Publishes issued in the same turn of the event loop leave in one WebSocket message (and the
// service stores same-topic publishes of one message together).
//
// The connection opens on the first publish and again on the next publish after it drops.
// A publish pending when the connection drops is rejected with a ConnectionError (it may or may
// not have been stored); as go-nsq, the producer does not publish it again by itself.
import * as cmd from "../../src/protocol/commands.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { ClosedError, NsqError } from "./errors.js";
import { serviceSocketUrl } from "./lookup.js";

/** A message body: bytes, or a string sent as UTF-8. */
export type Body = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export type ProducerOptions = ConnectionOptions;

/** Per publish. */
export interface PublishOptions {
  /**
   * nsq-edge's publish dedup: within the topic's dedup_window a repeat of this key is answered
   * OK and stored once (a retry after a lost answer). Printable, no spaces, at most 256
   * characters. Sent as the parameter after nsqd's (nsqd itself ignores it).
   */
  idempotencyKey?: string;
}

interface Queued {
  bytes: Uint8Array;
  resolve(): void;
  reject(err: unknown): void;
}

const encoder = new TextEncoder();

function toBytes(body: Body): Uint8Array {
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("a message body is a string, a Uint8Array, an ArrayBuffer or an ArrayBufferView");
}

/**
 * A topic that would change the command line itself (a space, a newline) cannot be sent as it
 * is: it is refused here with the server's code. Every other name goes to the server, which
 * checks it (E_BAD_TOPIC).
 */
function checkTopic(verb: string, topic: string): string {
  if (typeof topic !== "string" || topic === "" || /[\s\x00-\x1f]/.test(topic))
    throw new NsqError(`E_BAD_TOPIC ${verb} topic name ${JSON.stringify(topic)} is not valid`);
  return topic;
}

/** The idempotency key, checked as the server would (it must not change the command line). */
function keyOf(verb: string, options?: PublishOptions): string | undefined {
  const key = options?.idempotencyKey;
  if (key === undefined) return undefined;
  if (typeof key !== "string" || key === "" || key.length > 256 || /[\s\x00-\x1f]/.test(key))
    throw new NsqError(`E_INVALID ${verb} idempotency key ${JSON.stringify(key)} is not valid`);
  return key;
}

export class Producer {
  /** The WebSocket URL publishes go to. */
  readonly url: string;
  private conn: Connection | null = null;
  private connecting: Promise<Connection> | null = null;
  /** Publishes waiting for the connection to open, in order. */
  private queue: Queued[] = [];
  private outstanding = 0;
  private idle: (() => void)[] = [];
  private closed = false;

  /**
   * @param url the service (`https://nsq.example.com`, its V2 endpoint is /ws under it) or the
   *   V2 endpoint itself (`wss://nsq.example.com/ws`).
   */
  constructor(
    url: string,
    private readonly options: ProducerOptions = {},
  ) {
    this.url = serviceSocketUrl(url);
  }

  /** PUB: resolves once the message is stored (the server's OK). */
  publish(topic: string, body: Body, options?: PublishOptions): Promise<void> {
    return this.send(() => cmd.pub(checkTopic("PUB", topic), toBytes(body), keyOf("PUB", options)));
  }

  /** MPUB: several messages to one topic, stored all together or not at all (a key covers them all). */
  mpublish(topic: string, bodies: Body[], options?: PublishOptions): Promise<void> {
    return this.send(() => cmd.mpub(checkTopic("MPUB", topic), bodies.map(toBytes), keyOf("MPUB", options)));
  }

  /** DPUB: a message delivered no sooner than `delayMs` from now. */
  dpublish(topic: string, body: Body, delayMs: number, options?: PublishOptions): Promise<void> {
    return this.send(() => cmd.dpub(checkTopic("DPUB", topic), Math.max(0, Math.round(delayMs)), toBytes(body), keyOf("DPUB", options)));
  }

  /** Opens the connection now rather than on the first publish. */
  async connect(): Promise<void> {
    if (this.closed) throw new ClosedError("the producer is closed");
    await this.connection();
  }

  /** Publishes not yet answered. */
  get pending(): number {
    return this.outstanding;
  }

  /** Waits for every pending publish to settle, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.outstanding > 0) await new Promise<void>((r) => this.idle.push(r));
    // Let the callbacks chained on the settled publishes run first.
    await new Promise((r) => setTimeout(r, 0));
    await this.connecting?.catch(() => {}); // a connect() still opening
    const conn = this.conn;
    this.conn = null;
    conn?.close();
  }

  private send(encode: () => Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("the producer is closed"));
    let bytes: Uint8Array;
    try {
      bytes = encode();
    } catch (e) {
      return Promise.reject(e);
    }
    this.outstanding++;
    const p = new Promise<void>((resolve, reject) => this.queue.push({ bytes, resolve, reject }));
    this.drain();
    return p.finally(() => {
      if (--this.outstanding === 0) for (const w of this.idle.splice(0)) w();
    });
  }

  /** Hands queued publishes to the open connection, in order; opens one if needed. */
  private drain() {
    const conn = this.conn;
    if (conn && !conn.closed) {
      for (const q of this.queue.splice(0)) conn.command(q.bytes).then(() => q.resolve(), q.reject);
      return;
    }
    if (this.connecting) return; // drains when it opens
    this.connection().then(
      () => this.drain(),
      (err) => {
        for (const q of this.queue.splice(0)) q.reject(err);
      },
    );
  }

  private connection(): Promise<Connection> {
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    this.connecting ??= Connection.open(this.url, this.options, {
      close: (c) => {
        if (this.conn === c) this.conn = null;
      },
    })
      .then((c) => {
        this.conn = c;
        return c;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }
}
