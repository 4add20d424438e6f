// `nsq-edge token create`: a new built-in token. Prints a random secret (for the client) and the
// AUTH_TOKENS entry keyed by its SHA-256 (for the service, which never holds the secret in clear).
// The authorizations are made to work under nsqd's rule that a publish is checked with the
// channel "": a publish grant gets the channel pattern ".*".
import { randomBytes } from "node:crypto";
import { compile } from "../src/auth/re2.js";
import { parseTokens, sha256, toHex } from "../src/auth/tokens.js";
import { UsageError, parse } from "./common.js";

export const help = `usage: nsq-edge token create --identity NAME [--publish RE]... [--subscribe RE]...
                             [--channel RE]... [--admin RE]... [--identity-url URL] [--json]

Makes a new random secret and the AUTH_TOKENS entry that grants it (keyed by the secret's
SHA-256: the service never stores the secret). Patterns are Go (RE2) regexps, unanchored as in
nsqd: '^orders$' is the topic orders, 'orders' any topic containing it.

options:
  --identity NAME     who the token is for (shown in /stats and the AUTH answer); required
  --publish RE        may publish to topics matching RE (PUB, MPUB, DPUB, /pub, /mpub)
  --subscribe RE      may subscribe to topics matching RE, on the --channel patterns
  --channel RE        channels --subscribe allows (default: any, ".*")
  --admin RE          may create, delete, empty, pause topics matching RE and their channels
  --identity-url URL  identity_url in the AUTH answer
  --json              print {"secret","digest","entry"} instead
  -h, --help          this help
Each of --publish, --subscribe, --channel, --admin may be repeated; at least one permission.

example:
  nsq-edge token create --identity billing --publish '^orders$' --subscribe '^orders$' --channel '^billing$'`;

interface Authorization {
  topic: string;
  channels: string[];
  permissions: ("publish" | "subscribe" | "admin")[];
}

/** The pattern, or a usage error naming the flag and why RE2 (as the service reads it) refuses it. */
function pattern(flag: string, re: string): string {
  try {
    compile(re);
  } catch (e) {
    throw new UsageError(`${flag} ${JSON.stringify(re)}: ${(e as Error).message}`);
  }
  return re;
}

export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    (sub === undefined ? console.error : console.log)(help);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "create") throw new UsageError(`unknown token command ${JSON.stringify(sub)} (expected create)`);
  const { values, positionals } = parse(rest, {
    identity: { type: "string" },
    "identity-url": { type: "string" },
    publish: { type: "string", multiple: true, default: [] },
    subscribe: { type: "string", multiple: true, default: [] },
    channel: { type: "string", multiple: true, default: [] },
    admin: { type: "string", multiple: true, default: [] },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const identity = values.identity?.trim();
  if (!identity) throw new UsageError("--identity is required");
  const identityUrl = values["identity-url"];
  if (identityUrl !== undefined && !URL.canParse(identityUrl)) throw new UsageError(`--identity-url ${JSON.stringify(identityUrl)} is not a URL`);
  if (!values.publish.length && !values.subscribe.length && !values.admin.length)
    throw new UsageError("at least one of --publish, --subscribe, --admin is required");
  // Silently ignoring it would grant less (or more) than the caller believes.
  if (values.channel.length && !values.subscribe.length) throw new UsageError("--channel restricts --subscribe, which is missing");

  const any = [".*"];
  const channels = values.channel.length ? values.channel.map((c) => pattern("--channel", c)) : any;
  const authorizations: Authorization[] = [
    ...values.publish.map((t): Authorization => ({ topic: pattern("--publish", t), channels: any, permissions: ["publish"] })),
    ...values.subscribe.map((t): Authorization => ({ topic: pattern("--subscribe", t), channels, permissions: ["subscribe"] })),
    ...values.admin.map((t): Authorization => ({ topic: pattern("--admin", t), channels: any, permissions: ["admin"] })),
  ];
  const entry = { identity, ...(identityUrl !== undefined ? { identity_url: identityUrl } : {}), authorizations };

  const secret = randomBytes(32).toString("base64url");
  // The service's own digest function, so the key is what its lookup computes.
  const digest = toHex(await sha256(secret));
  const member = `${JSON.stringify(digest)}: ${JSON.stringify(entry)}`;
  // The entry read back as the service reads AUTH_TOKENS: never print one it would refuse.
  const check = parseTokens(`{${member}}`);
  if (typeof check === "string") throw new Error(`the entry made is not valid AUTH_TOKENS: ${check}`);

  if (values.json) {
    console.log(JSON.stringify({ secret, digest, entry }));
    return 0;
  }
  console.log(
    [
      `secret: ${secret}`,
      `AUTH_TOKENS entry:`,
      member,
      ``,
      `Add the entry to the JSON object of the Worker secret AUTH_TOKENS (\`wrangler secret put AUTH_TOKENS\`; ` +
        `locally in .dev.vars or \`npm start -- --var AUTH_TOKENS='{...}'\`), and give the secret to the client ` +
        `(--token or $NSQ_EDGE_TOKEN, authSecret). It is shown only once.`,
    ].join("\n"),
  );
  return 0;
}
