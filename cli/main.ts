// The `nsq-edge` command: dispatches to a subcommand and turns its outcome into an exit code
// scripts can trust: 0 ok, 1 runtime failure (one line on standard error), 2 usage error.
import pkg from "../package.json";
import * as bridge from "./bridge.js";
import { CommandError, EXIT_FAILURE, EXIT_USAGE, UsageError } from "./common.js";
import * as dev from "./dev.js";
import * as pub from "./pub.js";
import * as stat from "./stat.js";
import * as tail from "./tail.js";
import * as token from "./token.js";

interface Subcommand {
  help: string;
  main(args: string[]): Promise<number>;
}

const commands: Record<string, Subcommand> = { bridge, pub, tail, stat, token, dev };

const help = `usage: nsq-edge <command> [options]

commands:
  bridge   serve nsqd TCP (4150), nsqlookupd HTTP (4161) and nsqd HTTP (4151) on 127.0.0.1 for
           existing NSQ clients and tools, relayed to an nsq-edge service
  pub      publish messages (arguments, or lines of standard input)
  tail     print a topic's messages as they arrive
  stat     a topic/channel's rates and depths, every interval (like nsq_stat)
  token    token create: a new secret and its AUTH_TOKENS entry (built-in tokens)
  dev      start the local service (same as npm start)

Every command takes --help. The service is --url (default: $NSQ_EDGE_URL or
http://127.0.0.1:4151), with --token (or $NSQ_EDGE_TOKEN) sent as a bearer token.
Exit codes: 0 ok, 1 failure, 2 bad usage.

nsq-edge ${pkg.version}`;

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined) {
      const cmd = commands[topic];
      if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      console.log(cmd.help);
    } else {
      (name === undefined ? console.error : console.log)(help);
      if (name === undefined) return EXIT_USAGE;
    }
    return 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    console.log(`nsq-edge ${pkg.version}`);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  currentCommand = name;
  return cmd.main(rest);
}

let currentCommand = "";

function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\s*\n\s*/g, " ");
}

let code: number;
try {
  code = await run(process.argv.slice(2));
} catch (e) {
  const who = `nsq-edge${currentCommand ? ` ${currentCommand}` : ""}`;
  if (e instanceof UsageError) {
    console.error(`${who}: ${oneLine(e)} (see ${who} --help)`);
    code = EXIT_USAGE;
  } else if (e instanceof CommandError) {
    console.error(`${who}: ${oneLine(e)}`);
    code = EXIT_FAILURE;
  } else {
    console.error(`${who}: unexpected error: ${oneLine(e)}`);
    if (process.env.NSQ_EDGE_DEBUG) console.error(e);
    code = EXIT_FAILURE;
  }
}
// Exit once standard output and error are written (sockets left open must not keep us alive).
process.exitCode = code;
const flushed = (s: NodeJS.WriteStream) => new Promise<void>((r) => (s.writableLength === 0 ? r() : s.write("", () => r())));
await Promise.race([Promise.all([flushed(process.stdout), flushed(process.stderr)]), new Promise((r) => setTimeout(r, 2000))]);
process.exit(code);
