// nsqjs ships no types: what the bridge tests use of it (nsqjs 0.13.0, lib/reader.js, lib/writer.js).
declare module "nsqjs" {
  import { EventEmitter } from "node:events";

  export interface Message {
    id: string;
    attempts: number;
    timestamp: unknown;
    body: Buffer;
    hasResponded: boolean;
    json(): unknown;
    finish(): void;
    requeue(delayMs?: number, backoff?: boolean): void;
    touch(): void;
    timeUntilTimeout(hard?: boolean): number | null;
  }

  export interface ConnectionOptions {
    clientId?: string;
    heartbeatInterval?: number; // seconds
    maxInFlight?: number;
    messageTimeout?: number; // ms
    requeueDelay?: number;
    outputBufferTimeout?: number;
    idleTimeout?: number;
  }

  export interface ReaderOptions extends ConnectionOptions {
    lookupdHTTPAddresses?: string | string[];
    nsqdTCPAddresses?: string | string[];
    lookupdPollInterval?: number; // seconds
    lookupdPollJitter?: number;
    maxAttempts?: number;
    maxBackoffDuration?: number;
    lowRdyTimeout?: number;
  }

  export class Reader extends EventEmitter {
    constructor(topic: string, channel: string, options: ReaderOptions);
    connect(): void;
    close(): void;
    pause(): void;
    unpause(): void;
    connectionIds: string[];
  }

  export class Writer extends EventEmitter {
    constructor(host: string, port: number, options?: ConnectionOptions);
    connect(): void;
    close(): void;
    publish(topic: string, msgs: string | Buffer | (string | Buffer)[], callback?: (err?: Error | null) => void): void;
    deferPublish(topic: string, msg: string | Buffer, timeMs: number, callback?: (err?: Error | null) => void): void;
    ready: boolean;
  }
}
