// `nsq-edge pub <topic> [message...]`: each argument is a message; with none, each line of
// standard input is (as to_nsq: split on newlines, empty lines skipped), sent with MPUB in
// batches. Exit 0 once every message is stored (the server's OK), 1 if any publish failed.
import { NsqError, Producer } from "../client/src/index.js";
import { isValidName } from "../src/protocol/names.js";
import { CommandError, UsageError, integer, parse, preflight, service, serviceHelp, serviceOptions, socketFailure, webSocketClass, type Service } from "./common.js";

export const help = `usage: nsq-edge pub <topic> [message...] [options]

Publishes each message argument; with none, publishes each line of standard input (empty lines
are skipped), in MPUB batches. Exits 0 once the service has stored every message.

options:
${serviceHelp}
  --batch N        messages per MPUB from standard input (default 200)
  --delimiter C    the byte that ends a message on standard input (default: newline)
  -q, --quiet      no summary on standard error
  -h, --help       this help

examples:
  nsq-edge pub orders '{"id":1}' '{"id":2}'
  tail -f app.log | nsq-edge pub logs`;

/** Largest MPUB body built from standard input; the service takes up to 5 MiB by default. */
const MAX_BATCH_BYTES = 1 << 20;
/** MPUBs sent and not yet answered, before standard input is paused. */
const MAX_PENDING_BATCHES = 4;
/** A partial batch leaves after this long without more input (for `tail -f | nsq-edge pub`). */
const FLUSH_MS = 20;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...serviceOptions,
    batch: { type: "string", default: "200" },
    delimiter: { type: "string", default: "\n" },
    quiet: { type: "boolean", short: "q", default: false },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const [topic, ...messages] = positionals;
  if (!topic) throw new UsageError("a topic is required");
  if (!isValidName(topic)) throw new UsageError(`bad topic name ${JSON.stringify(topic)}: 1 to 64 of [.a-zA-Z0-9_-], optionally ending in #ephemeral`);
  const batchSize = integer("--batch", values.batch, 1, 10_000);
  const delimiter = Buffer.from(values.delimiter.replace(/^\\n$/, "\n").replace(/^\\t$/, "\t"));
  if (delimiter.length !== 1) throw new UsageError("--delimiter must be a single byte");
  const svc = service(values);

  await preflight(svc);
  const producer = new Producer(svc.wsUrl, { WebSocket: webSocketClass(svc), clientId: "nsq-edge-pub", userAgent: "nsq-edge-pub" });
  let count = 0;
  try {
    if (messages.length === 1) await producer.publish(topic, messages[0]!);
    else if (messages.length > 1) await producer.mpublish(topic, messages);
    if (messages.length) count = messages.length;
    else count = await publishStdin(producer, topic, batchSize, delimiter[0]!);
  } catch (e) {
    throw new CommandError(publishFailure(svc, e));
  } finally {
    await producer.close().catch(() => {});
  }
  if (!values.quiet) console.error(`published ${count} message${count === 1 ? "" : "s"} to ${topic}`);
  return 0;
}

function publishFailure(svc: Service, e: unknown): string {
  // A refused upgrade first: the library may report it as one of its auth errors (an NsqError).
  const why = socketFailure(svc, e);
  if (why.startsWith("the service")) return why;
  // instanceof, not the name: the library's subclasses (its auth errors) are refusals too.
  if (e instanceof NsqError) return `the service refused the publish: ${e.message}`;
  const cause = (e as { cause?: unknown })?.cause;
  if (cause instanceof NsqError) return `the service refused the publish: ${cause.message}`;
  return `publish failed: ${why}`;
}

/** Reads standard input, splits it into messages and publishes them in batches. */
function publishStdin(producer: Producer, topic: string, batchSize: number, delim: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    let rest: Buffer = Buffer.alloc(0);
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let pending = 0;
    let published = 0;
    let ended = false;
    let failed = false;
    let timer: ReturnType<typeof setTimeout> | null = null;

    const finishIfDone = () => {
      if (ended && pending === 0 && batch.length === 0 && !failed) resolve(published);
    };
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (!batch.length) return;
      const bodies = batch;
      batch = [];
      batchBytes = 0;
      pending++;
      if (pending >= MAX_PENDING_BATCHES) stdin.pause();
      const sent = bodies.length === 1 ? producer.publish(topic, bodies[0]!) : producer.mpublish(topic, bodies);
      sent.then(
        () => {
          pending--;
          published += bodies.length;
          if (!ended && pending < MAX_PENDING_BATCHES) stdin.resume();
          finishIfDone();
        },
        (e) => {
          if (failed) return;
          failed = true;
          stdin.pause();
          reject(e);
        },
      );
    };
    const add = (msg: Buffer) => {
      if (!msg.length) return; // as to_nsq: empty lines are not messages
      if (batch.length && (batch.length >= batchSize || batchBytes + msg.length > MAX_BATCH_BYTES)) flush();
      batch.push(msg);
      batchBytes += msg.length + 4;
      if (batch.length >= batchSize) flush();
    };

    stdin.on("data", (chunk: Buffer) => {
      if (failed) return;
      let data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let at: number;
      while ((at = data.indexOf(delim)) >= 0) {
        add(Buffer.from(data.subarray(0, at)));
        data = data.subarray(at + 1);
      }
      rest = Buffer.from(data);
      if (batch.length && !timer) timer = setTimeout(flush, FLUSH_MS);
    });
    stdin.on("end", () => {
      ended = true;
      if (failed) return;
      add(rest);
      rest = Buffer.alloc(0);
      flush();
      finishIfDone();
    });
    stdin.on("error", (e) => {
      if (!failed) {
        failed = true;
        reject(new Error(`reading standard input: ${e.message}`));
      }
    });
  });
}
