// A message as a consumer receives it, with the responses nsqd takes for it: FIN, REQ, TOUCH.
import type { MessageFrame } from "../../src/protocol/frames.js";

const decoder = new TextDecoder();

/** What a message needs from its consumer to answer the server. */
export interface MessageDelegate {
  finish(msg: Message): void;
  requeue(msg: Message, delayMs: number | undefined, backoff: boolean): void;
  touch(msg: Message): void;
}

export class Message {
  /** The 16-character message id, unique per topic. */
  readonly id: string;
  /** The body as published. */
  readonly body: Uint8Array;
  /** How many times the message was delivered, this delivery included (1 the first time). */
  readonly attempts: number;
  /** When the message was published, in milliseconds since the epoch. */
  readonly timestamp: number;
  /** The same, in nanoseconds, as the server sends it. */
  readonly timestampNs: bigint;
  /** The URL of the connection it came on. */
  readonly source: string;

  private responded = false;
  private autoResponse = true;

  constructor(
    raw: MessageFrame,
    source: string,
    private readonly delegate: MessageDelegate,
  ) {
    this.id = raw.id;
    this.body = raw.body;
    this.attempts = raw.attempts;
    this.timestampNs = raw.timestamp;
    this.timestamp = Number(raw.timestamp / 1_000_000n);
    this.source = source;
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.body);
  }

  /** The body parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** True once finish() or requeue() was called (or done automatically). */
  get hasResponded(): boolean {
    return this.responded;
  }

  /** Whether the handler's outcome (resolve → FIN, throw → REQ) answers for this message. */
  get isAutoResponseDisabled(): boolean {
    return !this.autoResponse;
  }

  /** Leaves FIN/REQ to you for this message, whatever the handler does (go-nsq's DisableAutoResponse). */
  disableAutoResponse() {
    this.autoResponse = false;
  }

  /** FIN: the message is done and leaves the channel. Returns false if it was already answered. */
  finish(): boolean {
    if (this.responded) return false;
    this.responded = true;
    this.delegate.finish(this);
    return true;
  }

  /**
   * REQ: the message goes back to the channel, to be delivered again after `delayMs` (default:
   * the consumer's defaultRequeueDelay × attempts, capped at maxRequeueDelay, as go-nsq). With
   * `backoff` (default true) the failure counts toward the consumer's backoff.
   * Returns false if it was already answered.
   */
  requeue(delayMs?: number, backoff = true): boolean {
    if (this.responded) return false;
    this.responded = true;
    this.delegate.requeue(this, delayMs, backoff);
    return true;
  }

  /** TOUCH: resets the message's in-flight timeout on the server. */
  touch(): void {
    if (!this.responded) this.delegate.touch(this);
  }
}
