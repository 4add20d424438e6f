// `nsq-edge tail <topic>`: prints each message body on its own line as it arrives, like nsq_tail:
// on an ephemeral channel of its own by default (tail<6 digits>#ephemeral, gone when tail exits),
// -n N to exit 0 after N messages. Each message is finished once written to standard output.
import { Consumer, type Message } from "../client/src/index.js";
import { isValidName } from "../src/protocol/names.js";
import { CommandError, UsageError, integer, interrupted, parse, preflight, service, serviceHelp, serviceOptions, socketFailure, webSocketClass, writeOut } from "./common.js";

export const help = `usage: nsq-edge tail <topic> [--channel C] [-n N] [options]

Prints messages of a topic as they arrive, one per line, like nsq_tail. Without --channel it
subscribes on a new ephemeral channel (tail123456#ephemeral), which gets every message published
from now on and disappears when tail exits.

options:
${serviceHelp}
  --channel C          the channel to consume (default: tail<random>#ephemeral)
  -n N                 exit after N messages (default: run until Ctrl-C)
  --max-in-flight N    messages in flight at once (default 200, at most N)
  --print-topic        print "topic | " before each message
  -h, --help           this help`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...serviceOptions,
    channel: { type: "string" },
    n: { type: "string", short: "n" },
    "max-in-flight": { type: "string", default: "200" },
    "print-topic": { type: "boolean", default: false },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one topic, not ${positionals.length}` : "a topic is required");
  const topic = positionals[0]!;
  if (!isValidName(topic)) throw new UsageError(`bad topic name ${JSON.stringify(topic)}`);
  const channel = values.channel ?? `tail${String(Math.floor(Math.random() * 999999)).padStart(6, "0")}#ephemeral`;
  if (!isValidName(channel)) throw new UsageError(`bad channel name ${JSON.stringify(channel)}`);
  const total = values.n === undefined ? 0 : integer("-n", values.n, 1);
  let maxInFlight = integer("--max-in-flight", values["max-in-flight"], 1, 2500);
  if (total > 0 && total < maxInFlight) maxInFlight = total; // don't ask for more than wanted
  const svc = service(values);

  await preflight(svc);
  const prefix = values["print-topic"] ? Buffer.from(`${topic} | `) : null;
  const newline = Buffer.from("\n");
  let shown = 0;
  let done!: (code: number) => void;
  const finished = new Promise<number>((r) => (done = r));

  // Straight to the service's V2 endpoint (as nsq_tail --nsqd-tcp-address): SUB creates the topic
  // and channel, so tail starts at once even for a topic nobody published to yet.
  const consumer = new Consumer(topic, channel, {
    nsqdUrls: [svc.wsUrl],
    WebSocket: webSocketClass(svc),
    maxInFlight,
    clientId: "nsq-edge-tail",
    userAgent: "nsq-edge-tail",
    maxAttempts: 0,
  });
  let firstError: unknown = null;
  let connected = false;
  consumer.on("connect", () => (connected = true));
  consumer.on("error", (e) => {
    firstError ??= e;
    // The first connection failing (after the service answered /ping) is a configuration
    // problem, not a blip: report it. Later failures are retried, as nsq_tail does.
    if (!connected) done(-1);
  });
  consumer.on("message", async (msg: Message) => {
    if (total > 0 && shown >= total) {
      msg.requeue(0, false); // beyond -n: for another consumer of the channel
      return;
    }
    shown++;
    if (prefix) await writeOut(prefix);
    await writeOut(Buffer.concat([msg.body, newline]));
    msg.finish();
    if (total > 0 && shown >= total) done(0);
  });
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    // The reader went away (`nsq-edge tail t | head -1`): stop quietly.
    if (e.code === "EPIPE") done(0);
    else done(-2);
  });

  const code = await Promise.race([finished, interrupted().then(() => 0)]);
  await consumer.close(5000).catch(() => {});
  if (code === -1) {
    const why = socketFailure(svc, firstError);
    throw new CommandError(why.startsWith("the service") ? why : `cannot subscribe to ${topic}/${channel}: ${why}`);
  }
  if (code === -2) throw new CommandError("writing to standard output failed");
  return code;
}
