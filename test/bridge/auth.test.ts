// Auth from the command line and through the bridge, against a service of its own with auth on
// (built-in tokens made by `nsq-edge token create`): the CLI's --token / $NSQ_EDGE_TOKEN, the
// bridge's --token, and a TCP client's own AUTH (nsqjs authSecret) relayed untouched.
import { createHash } from "node:crypto";
import * as nsq from "nsqjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256, toHex } from "../../src/auth/tokens";
import { Service } from "../e2e/service";
import { Bridge, Proc, cli, closeAll, eventually, firstMessage, openReader, openWriter, publish, unique } from "./helpers";

declare module "nsqjs" {
  interface ConnectionOptions {
    authSecret?: string;
  }
}

let svc: Service;
let open: Bridge; // no --token: clients bring their own
let tokened: Bridge; // --token: the bridge authenticates every client
/** publish, subscribe and admin on auth-*; from token create's human output. */
let secret = "";
/** publish on "elsewhere" only; from --json. */
let other = "";
const closers: { close(): void }[] = [];
const track = <T extends { close(): void }>(x: T) => (closers.push(x), x);

const bearer = (s: string) => ({ Authorization: `Bearer ${s}` });

beforeAll(async () => {
  const human = await cli(["token", "create", "--identity", "full", "--publish", "^auth-", "--subscribe", "^auth-", "--admin", "^auth-"]);
  expect(human.code, human.stderr).toBe(0);
  secret = /^secret: (\S+)$/m.exec(human.stdout)![1]!;
  const member = /^AUTH_TOKENS entry:\n(.+)$/m.exec(human.stdout)![1]!;
  const json = await cli(["token", "create", "--json", "--identity", "other", "--publish", "^elsewhere$"]);
  expect(json.code, json.stderr).toBe(0);
  const made = JSON.parse(json.stdout) as { secret: string; digest: string; entry: unknown };
  other = made.secret;
  // The printed entry and the --json one, merged as the usage line says.
  svc = await Service.create({ AUTH_TOKENS: `{${member}, ${JSON.stringify(made.digest)}: ${JSON.stringify(made.entry)}}` });
  open = await Bridge.open(svc.url);
  tokened = await Bridge.open(svc.url, ["--token", secret]);
});

afterAll(async () => {
  closeAll(closers);
  await open?.stop();
  await tokened?.stop();
  await svc?.stop();
});

/** The topic's message_count on the service (read with the full token). */
async function messageCount(topic: string): Promise<number> {
  const res = await svc.fetch(`/stats?format=json&topic=${topic}`, { headers: bearer(secret) });
  expect(res.status).toBe(200);
  const stats = (await res.json()) as { topics: { topic_name: string; message_count: number }[] | null };
  return (stats.topics ?? []).find((t) => t.topic_name === topic)?.message_count ?? 0;
}

describe("nsq-edge token create", () => {
  it("prints a random secret and the entry its SHA-256 keys, with authorizations that work under nsqd's publish rule", async () => {
    const args = ["token", "create", "--json", "--identity", "billing", "--identity-url", "https://example.com/billing"];
    args.push("--publish", "^orders$", "--subscribe", "^orders$", "--channel", "^billing$", "--channel", "^audit$", "--admin", "^orders$");
    const a = await cli(args);
    const b = await cli(args);
    expect([a.code, b.code]).toEqual([0, 0]);
    const x = JSON.parse(a.stdout);
    const y = JSON.parse(b.stdout);
    expect(Object.keys(x)).toEqual(["secret", "digest", "entry"]);
    expect(x.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(x.secret, "base64url")).toHaveLength(32);
    expect(x.secret).not.toBe(y.secret);
    expect(x.digest).toBe(createHash("sha256").update(x.secret).digest("hex"));
    expect(x.digest).toBe(toHex(await sha256(x.secret)));
    expect(x.entry).toEqual({
      identity: "billing",
      identity_url: "https://example.com/billing",
      authorizations: [
        { topic: "^orders$", channels: [".*"], permissions: ["publish"] },
        { topic: "^orders$", channels: ["^billing$", "^audit$"], permissions: ["subscribe"] },
        { topic: "^orders$", channels: [".*"], permissions: ["admin"] },
      ],
    });
    const plain = await cli(["token", "create", "--identity", "x", "--subscribe", "^t$"]);
    expect(plain.code).toBe(0);
    const lines = plain.stdout.split("\n");
    expect(lines[0]).toMatch(/^secret: [A-Za-z0-9_-]{43}$/);
    expect(lines[1]).toBe("AUTH_TOKENS entry:");
    expect(lines[2]).toMatch(/^"[0-9a-f]{64}": \{"identity":"x","authorizations":\[\{"topic":"\^t\$","channels":\["\.\*"\],"permissions":\["subscribe"\]\}\]\}$/);
    expect(plain.stdout).toContain("wrangler secret put AUTH_TOKENS");
  });

  it("refuses what the service would refuse, or a token that grants nothing: one line, exit 2, no secret", async () => {
    const cases: [string[], string][] = [
      [["--publish", "^a$"], "--identity is required"],
      [["--identity", "x"], "at least one of --publish, --subscribe, --admin is required"],
      [["--identity", "x", "--publish", "a", "--channel", "c"], "--channel restricts --subscribe, which is missing"],
      [["--identity", "x", "--publish", "(?=a)"], '--publish "(?=a)": '],
      [["--identity", "x", "--subscribe", "t", "--channel", "(a"], '--channel "(a": '],
      [["--identity", "x", "--admin", "\\1"], '--admin "\\\\1": '],
      [["--identity", "x", "--publish", "a", "--identity-url", "not a url"], '--identity-url "not a url" is not a URL'],
    ];
    for (const [args, start] of cases) {
      const res = await cli(["token", "create", ...args]);
      expect(res.code, args.join(" ")).toBe(2);
      expect(res.stdout).toBe("");
      expect(res.stderr.startsWith(`nsq-edge token: ${start}`), res.stderr).toBe(true);
      expect(res.stderr.split("\n")).toHaveLength(2);
    }
    const unknown = await cli(["token", "delete"]);
    expect([unknown.code, unknown.stderr.split("\n")[0]]).toEqual([2, 'nsq-edge token: unknown token command "delete" (expected create) (see nsq-edge token --help)']);
  });

  it("its entry, given to a service as AUTH_TOKENS, lets the printed secret publish over HTTP; a wrong one is 401", async () => {
    const topic = unique("auth-http");
    expect((await svc.fetch(`/pub?topic=${topic}`, { method: "POST", body: "m", headers: bearer(secret) })).status).toBe(200);
    expect((await svc.fetch(`/pub?topic=${topic}`, { method: "POST", body: "m", headers: bearer(secret + "x") })).status).toBe(401);
    expect((await svc.fetch(`/pub?topic=${topic}`, { method: "POST", body: "m" })).status).toBe(401);
    // The --json entry too: its identity may publish to its topic only.
    expect((await svc.fetch(`/pub?topic=elsewhere`, { method: "POST", body: "m", headers: bearer(other) })).status).toBe(200);
    expect((await svc.fetch(`/pub?topic=${topic}`, { method: "POST", body: "m", headers: bearer(other) })).status).toBe(403);
    expect(await messageCount(topic)).toBe(1);
  });
});

describe("--token and NSQ_EDGE_TOKEN", () => {
  it("nsq-edge pub publishes with --token; without one, or with a wrong one, it says so in one line (401)", async () => {
    const topic = unique("auth-pub");
    const ok = await cli(["pub", topic, "a", "b", "--url", svc.url, "--token", secret]);
    expect([ok.code, ok.stderr]).toEqual([0, `published 2 messages to ${topic}\n`]);
    expect(await messageCount(topic)).toBe(2);
    const none = await cli(["pub", topic, "c", "--url", svc.url]);
    expect([none.code, none.stderr]).toEqual([1, `nsq-edge pub: the service at ${svc.url} requires a token (HTTP 401): pass --token or set NSQ_EDGE_TOKEN\n`]);
    const wrong = await cli(["pub", topic, "c", "--url", svc.url, "--token", "not-the-secret"]);
    expect([wrong.code, wrong.stderr]).toEqual([1, `nsq-edge pub: the service at ${svc.url} refused the token (HTTP 401)\n`]);
    // A known identity without the permission: the service's refusal, never the token.
    const elsewhere = await cli(["pub", topic, "c", "--url", svc.url, "--token", other]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^nsq-edge pub: the service refused the publish: E_UNAUTHORIZED/);
    expect(elsewhere.stderr).not.toContain(other);
    expect(await messageCount(topic)).toBe(2);
  });

  it("$NSQ_EDGE_TOKEN works for pub, tail and stat; --token wins over it; an empty $NSQ_EDGE_TOKEN is no token", async () => {
    const topic = unique("auth-env");
    const env = { NSQ_EDGE_URL: svc.url, NSQ_EDGE_TOKEN: secret };
    for (const step of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=c`])
      expect((await svc.fetch(step, { method: "POST", headers: bearer(secret) })).status).toBe(200);
    const pub = await cli(["pub", topic, "from-env"], { env });
    expect([pub.code, pub.stderr]).toEqual([0, `published 1 message to ${topic}\n`]);
    const tail = await cli(["tail", topic, "--channel", "c", "-n", "1"], { env });
    expect([tail.code, tail.stdout]).toEqual([0, "from-env\n"]);
    const stat = await cli(["stat", topic, "c", "--interval", "100ms", "--count", "1"], { env });
    expect(stat.code, stat.stderr).toBe(0);
    expect(stat.stdout).toContain("ingress");
    const wins = await cli(["pub", topic, "flag", "--token", secret], { env: { ...env, NSQ_EDGE_TOKEN: "stale" } });
    expect(wins.code, wins.stderr).toBe(0);
    const loses = await cli(["pub", topic, "x", "--token", "stale"], { env });
    expect([loses.code, loses.stderr]).toEqual([1, `nsq-edge pub: the service at ${svc.url} refused the token (HTTP 401)\n`]);
    const wrongEnv = await cli(["stat", topic, "c", "--count", "1"], { env: { ...env, NSQ_EDGE_TOKEN: "stale" } });
    expect([wrongEnv.code, wrongEnv.stderr]).toEqual([1, `nsq-edge stat: the service at ${svc.url} refused the token (HTTP 401)\n`]);
    // An empty $NSQ_EDGE_TOKEN (`NSQ_EDGE_TOKEN= nsq-edge ...`) is no token, not a usage error.
    const empty = Proc.start(["pub", topic, "x"], { ...env, NSQ_EDGE_TOKEN: "" });
    empty.proc.stdin!.end();
    expect((await empty.exited).code).toBe(1);
    expect(empty.stderr).toBe(`nsq-edge pub: the service at ${svc.url} requires a token (HTTP 401): pass --token or set NSQ_EDGE_TOKEN\n`);
    expect(await messageCount(topic)).toBe(2);
  });

  it("the bridge never prints its token", () => {
    expect(tokened.stdout).toContain("(with a token)");
    expect(tokened.stdout + tokened.stderr).not.toContain(secret);
  });
});

describe("nsqjs through the bridge", () => {
  it("without --token, nsqjs's own AUTH (authSecret) passes through: a Writer publishes, a Reader consumes", async () => {
    const topic = unique("auth-own");
    const w = track(await openWriter(open.tcpPort, { authSecret: secret }));
    // The service's AUTH answer reached nsqjs as nsqd's: the identity of the secret.
    expect((w as unknown as { conn: { auth: unknown } }).conn.auth).toEqual({ identity: "full", identity_url: "", permission_count: 3 });
    const r = track(await openReader(topic, "c", { nsqdTCPAddresses: [`127.0.0.1:${open.tcpPort}`], authSecret: secret }));
    expect(await firstMessage(r, () => publish(w, topic, "own-auth"))).toBe("own-auth");
  });

  it("with --token, nsqjs without authSecret publishes and consumes (the service tells it auth_required: false)", async () => {
    const topic = unique("auth-bridge");
    const w = track(await openWriter(tokened.tcpPort));
    const r = track(await openReader(topic, "c", { nsqdTCPAddresses: [`127.0.0.1:${tokened.tcpPort}`] }));
    expect(await firstMessage(r, () => publish(w, topic, "bridge-auth"))).toBe("bridge-auth");
    // Discovery through the bridge's lookupd works too: it asks the service with the token.
    const lookup = await fetch(`http://${tokened.lookupd}/lookup?topic=${topic}`);
    expect(lookup.status).toBe(200);
  });

  it("without --token and without authSecret, nsqjs gets the service's auth error and nothing is published", async () => {
    const topic = unique("auth-none");
    const w = track(await openWriter(open.tcpPort));
    await expect(publish(w, topic, "nope")).rejects.toThrow(/E_AUTH_FIRST/);
    const r = track(new nsq.Reader(topic, "c", { nsqdTCPAddresses: [`127.0.0.1:${open.tcpPort}`] }));
    const failed = new Promise<Error>((resolve) => r.once("error", resolve));
    r.connect();
    expect((await failed).message).toMatch(/E_AUTH_FIRST/);
    expect(await messageCount(topic)).toBe(0);
  });
});

describe("the bridge's HTTP ports", () => {
  it("with --token, requests carry it unless they bring their own Authorization, which is passed through", async () => {
    const topic = unique("auth-fwd");
    const pub = (b: Bridge, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${b.httpPort}/pub?topic=${topic}`, { method: "POST", body: "m", headers }).then((r) => r.status);
    expect(await pub(tokened)).toBe(200);
    expect(await pub(tokened, bearer("someone-else"))).toBe(401); // the client's own header, not the bridge's
    expect(await pub(tokened, bearer(other))).toBe(403);
    expect(await pub(open)).toBe(401);
    expect(await pub(open, bearer(secret))).toBe(200);
    await eventually(async () => expect(await messageCount(topic)).toBe(2));

    const lookup = async (b: Bridge, headers: Record<string, string> = {}) => {
      const res = await fetch(`http://${b.lookupd}/lookup?topic=${topic}`, { headers });
      return [res.status, res.status === 401 ? res.headers.get("www-authenticate") : null];
    };
    expect(await lookup(tokened)).toEqual([200, null]);
    expect((await lookup(tokened, bearer("someone-else")))[0]).toBe(401);
    expect((await lookup(open))[0]).toBe(401);
    expect((await lookup(open))[1]).toMatch(/^Bearer/);
    expect(await lookup(open, bearer(secret))).toEqual([200, null]);
    // lookupd writes: the client's credentials decide.
    const create = (b: Bridge, headers: Record<string, string> = {}) =>
      fetch(`http://${b.lookupd}/channel/create?topic=${topic}&channel=made`, { method: "POST", headers }).then((r) => r.status);
    expect(await create(open)).toBe(401);
    expect(await create(open, bearer(other))).toBe(403);
    expect(await create(tokened)).toBe(200);
  });
});
