import { describe, expect, it } from "vitest";
import { config } from "../config";
import { ProtocolError } from "../protocol/errors";
import type { LinkCommand } from "../protocol/link";
import type { Command } from "../protocol/parser";
import { parseAnswer, type AuthState } from "../auth/authorizations";
import { AuthExpired, type ConnectionAuth } from "./auth";
import { initialSettings, type Settings } from "./identify";
import { topicAndKey, exec, type Client, type State } from "./verbs";

const cfg = config({});
const ID = "0123456789abcdef";
const enc = (s: string) => new TextEncoder().encode(s);

/** A Client that records what the verbs ask of it. */
class FakeClient implements Client {
  state: State = "init";
  settings: Settings = initialSettings(cfg, "h");
  readonly cfg = cfg;
  auth: ConnectionAuth = { enabled: false, state: null, fromUpgrade: false };
  clock = 0;
  asked: unknown[] = [];
  now() {
    return this.clock;
  }
  authenticate(secret: string) {
    this.asked.push(`authenticate ${secret}`);
  }
  identified(settings: Settings) {
    this.settings = settings;
    this.asked.push("identified");
  }
  subscribe(topic: string, channel: string) {
    this.asked.push(`subscribe ${topic} ${channel}`);
  }
  channel(cmd: LinkCommand) {
    this.asked.push(cmd);
  }
  publish(verb: string, topic: string, deferMs: number, bodies: Uint8Array | Uint8Array[], key?: string, idempotencyKey?: string) {
    const n = bodies instanceof Uint8Array ? 1 : bodies.length;
    this.asked.push(`${verb} ${topic} ${deferMs} ${n}${key === undefined ? "" : ` key=${key}`}${idempotencyKey === undefined ? "" : ` idem=${idempotencyKey}`}`);
  }
}

function cmd(line: string, body?: string | Uint8Array, head = false): Command {
  const [name, ...params] = line.split(" ");
  if (head) return { name, params, head: true };
  if (body === undefined) return { name, params };
  const bytes = typeof body === "string" ? enc(body) : body;
  return { name, params, bodyLen: bytes.length, body: bytes };
}

const text = (frame: Uint8Array | null) => (frame ? new TextDecoder().decode(frame.subarray(8)) : null);

function error(c: Client, command: Command): string {
  try {
    exec(c, command);
  } catch (e) {
    if (e instanceof ProtocolError) return `${e.fatal ? "fatal" : "client"}: ${e.message}`;
    throw e;
  }
  throw new Error("no error");
}

function subscribed(): FakeClient {
  const c = new FakeClient();
  exec(c, cmd("SUB t ch"));
  c.asked = [];
  return c;
}

describe("the state machine", () => {
  it("init: IDENTIFY answers and sets the settings; SUB asks for the channel and answers later", () => {
    const c = new FakeClient();
    expect(text(exec(c, cmd("IDENTIFY", '{"client_id":"x"}')))).toBe("OK");
    expect(c.settings.clientId).toBe("x");
    expect(exec(c, cmd("SUB t ch"))).toBeNull();
    expect(c.state).toBe("subscribed");
    expect(c.asked).toEqual(["identified", "subscribe t ch"]);
  });

  it("subscribed: IDENTIFY, AUTH and SUB are refused; CLS answers CLOSE_WAIT and moves to closing", () => {
    const c = subscribed();
    expect(error(c, cmd("IDENTIFY", "{}"))).toBe("fatal: E_INVALID cannot IDENTIFY in current state");
    expect(error(c, cmd("AUTH", "x"))).toBe("fatal: E_INVALID cannot AUTH in current state");
    expect(error(c, cmd("SUB t ch"))).toBe("fatal: E_INVALID cannot SUB in current state");
    expect(text(exec(c, cmd("CLS")))).toBe("CLOSE_WAIT");
    expect(c.state).toBe("closing");
    expect(c.asked).toEqual([{ op: "CLS" }]);
  });

  it("closing: RDY is ignored, FIN/REQ/TOUCH still go to the channel, a second CLS is refused", () => {
    const c = subscribed();
    exec(c, cmd("CLS"));
    c.asked = [];
    expect(exec(c, cmd("RDY 5"))).toBeNull();
    exec(c, cmd(`FIN ${ID}`));
    exec(c, cmd(`REQ ${ID} 10`));
    exec(c, cmd(`TOUCH ${ID}`));
    expect(c.asked).toEqual([{ op: "FIN", id: ID }, { op: "REQ", id: ID, delayMs: 10 }, { op: "TOUCH", id: ID }]);
    expect(error(c, cmd("CLS"))).toBe("fatal: E_INVALID cannot CLS in current state");
  });

  it("init: channel verbs are refused", () => {
    const c = new FakeClient();
    expect(error(c, cmd("RDY 1"))).toBe("fatal: E_INVALID cannot RDY in current state");
    expect(error(c, cmd(`FIN ${ID}`))).toBe("fatal: E_INVALID cannot FIN in current state");
    expect(error(c, cmd("CLS"))).toBe("fatal: E_INVALID cannot CLS in current state");
  });

  it("any state: PUB, MPUB, DPUB and NOP", () => {
    for (const c of [new FakeClient(), subscribed()]) {
      c.asked = [];
      expect(exec(c, cmd("PUB t", "a"))).toBeNull();
      exec(c, cmd("DPUB t 250", "a"));
      const mpub = new Uint8Array([0, 0, 0, 2, 0, 0, 0, 1, 97, 0, 0, 0, 1, 98]);
      exec(c, cmd("MPUB t", mpub));
      expect(exec(c, cmd("NOP"))).toBeNull();
      expect(c.asked).toEqual(["PUB t 0 1", "DPUB t 250 1", "MPUB t 0 2"]);
    }
  });
});

describe("arguments, in nsqd's order", () => {
  it("RDY: a count in 0..max_rdy_count, 1 without one", () => {
    const c = subscribed();
    exec(c, cmd("RDY"));
    exec(c, cmd(`RDY ${cfg.maxRdyCount}`));
    expect(c.asked).toEqual([{ op: "RDY", count: 1 }, { op: "RDY", count: cfg.maxRdyCount }]);
    expect(error(c, cmd("RDY x"))).toBe("fatal: E_INVALID RDY could not parse count x");
    expect(error(c, cmd(`RDY ${cfg.maxRdyCount + 1}`))).toBe(`fatal: E_INVALID RDY count ${cfg.maxRdyCount + 1} out of range 0-${cfg.maxRdyCount}`);
  });

  it("FIN/REQ: a 16-byte id; REQ's delay clamped to max_req_timeout", () => {
    const c = subscribed();
    expect(error(c, cmd("FIN"))).toBe("fatal: E_INVALID FIN insufficient number of params");
    expect(error(c, cmd("FIN short"))).toBe("fatal: E_INVALID invalid message ID");
    expect(error(c, cmd(`REQ ${ID}`))).toBe("fatal: E_INVALID REQ insufficient number of params");
    expect(error(c, cmd(`REQ ${ID} -1`))).toBe("fatal: E_INVALID REQ could not parse timeout -1");
    exec(c, cmd(`REQ ${ID} ${cfg.maxReqTimeout + 1}`));
    expect(c.asked).toEqual([{ op: "REQ", id: ID, delayMs: cfg.maxReqTimeout }]);
  });

  it("SUB: heartbeats on, two params, valid names", () => {
    const c = new FakeClient();
    expect(error(c, cmd("SUB t"))).toBe("fatal: E_INVALID SUB insufficient number of parameters");
    expect(error(c, cmd("SUB t! ch"))).toBe('fatal: E_BAD_TOPIC SUB topic name "t!" is not valid');
    expect(error(c, cmd("SUB t ch!"))).toBe('fatal: E_BAD_CHANNEL SUB channel name "ch!" is not valid');
    c.settings = { ...c.settings, heartbeatInterval: 0 };
    expect(error(c, cmd("SUB t ch"))).toBe("fatal: E_INVALID cannot SUB with heartbeats disabled");
    expect(c.state).toBe("init");
  });

  it("publishes: the line is checked alone (a head), before any body; nothing is asked", () => {
    const c = new FakeClient();
    expect(exec(c, cmd("PUB t", undefined, true))).toBeNull();
    expect(error(c, cmd("PUB", undefined, true))).toBe("fatal: E_INVALID PUB insufficient number of parameters");
    expect(error(c, cmd("MPUB t!", undefined, true))).toBe('fatal: E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "t!" is not valid');
    expect(error(c, cmd(`DPUB t ${cfg.maxReqTimeout + 1}`, undefined, true))).toBe(
      `fatal: E_INVALID DPUB timeout ${cfg.maxReqTimeout + 1} out of range 0-${cfg.maxReqTimeout}`,
    );
    expect(exec(c, cmd("IDENTIFY", undefined, true))).toBeNull();
    expect(error(subscribed(), cmd("IDENTIFY", undefined, true))).toBe("fatal: E_INVALID cannot IDENTIFY in current state");
    expect(c.asked).toEqual([]);
  });

  it("publishes: body sizes", () => {
    const c = new FakeClient();
    expect(error(c, { name: "PUB", params: ["t"], bodyLen: 0 })).toBe("fatal: E_BAD_MESSAGE PUB invalid message body size 0");
    expect(error(c, { name: "PUB", params: ["t"], bodyLen: cfg.maxMsgSize + 1 })).toBe(
      `fatal: E_BAD_MESSAGE PUB message too big ${cfg.maxMsgSize + 1} > ${cfg.maxMsgSize}`,
    );
    expect(error(c, { name: "MPUB", params: ["t"], bodyLen: -1 })).toBe("fatal: E_BAD_BODY MPUB invalid body size -1");
  });

  it("AUTH is disabled; an unknown verb is fatal", () => {
    const c = new FakeClient();
    expect(error(c, cmd("AUTH", "secret"))).toBe("fatal: E_AUTH_DISABLED AUTH disabled");
    expect(error(c, cmd("AUTH x", "secret"))).toBe("fatal: E_INVALID AUTH invalid number of parameters");
    expect(error(c, cmd("BOGUS"))).toBe("fatal: E_INVALID invalid command BOGUS");
    expect(error(c, cmd("constructor"))).toBe("fatal: E_INVALID invalid command constructor");
  });

  describe("with auth on (nsqd's AUTH and CheckAuth)", () => {
    const answer = (ttl: number, authorizations: unknown[]) => {
      const st = parseAnswer({ ttl, identity: "billing", authorizations }, 0);
      if (typeof st === "string") throw new Error(st);
      return st;
    };
    const billing = () =>
      answer(60, [
        { topic: "^orders$", channels: ["^billing$"], permissions: ["subscribe"] },
        { topic: "^orders$", channels: [".*"], permissions: ["publish"] },
      ]);
    const authOn = (state: AuthState | null = null) => {
      const c = new FakeClient();
      c.auth = { enabled: true, state, fromUpgrade: false };
      return c;
    };

    it("IDENTIFY says auth_required, unless the upgrade's Bearer already counts as AUTH", () => {
      const c = authOn();
      const r = exec(c, cmd("IDENTIFY", JSON.stringify({ feature_negotiation: true })));
      expect(JSON.parse(text(r)!).auth_required).toBe(true);
      const pre = authOn(billing());
      pre.auth = { ...pre.auth, fromUpgrade: true };
      expect(JSON.parse(text(exec(pre, cmd("IDENTIFY", JSON.stringify({ feature_negotiation: true }))))!).auth_required).toBe(false);
    });

    it("commands that need a permission before AUTH: E_AUTH_FIRST", () => {
      const c = authOn();
      expect(error(c, cmd("SUB orders billing"))).toBe("fatal: E_AUTH_FIRST AUTH required before SUB");
      expect(error(c, cmd("PUB orders", "x"))).toBe("fatal: E_AUTH_FIRST AUTH required before PUB");
      expect(error(c, cmd("DPUB orders 10", "x"))).toBe("fatal: E_AUTH_FIRST AUTH required before DPUB");
      // MPUB checks before it reads the body, so its line alone is answered.
      expect(error(c, cmd("MPUB orders", undefined, true))).toBe("fatal: E_AUTH_FIRST AUTH required before MPUB");
      // PUB reads its body first: a bad size is the first error, as in nsqd.
      expect(error(c, { name: "PUB", params: ["orders"], bodyLen: 0 })).toBe("fatal: E_BAD_MESSAGE PUB invalid message body size 0");
      expect(exec(c, cmd("NOP"))).toBeNull();
    });

    it("AUTH asks with the body; a second AUTH is refused", () => {
      const c = authOn();
      expect(exec(c, cmd("AUTH", "s3cret"))).toBeNull();
      expect(c.asked).toEqual(["authenticate s3cret"]);
      const done = authOn(billing());
      expect(error(done, cmd("AUTH", "s3cret"))).toBe("fatal: E_INVALID AUTH already set");
      // After an upgrade's Bearer, one AUTH may take its place (a client behind a bridge with --token).
      const bridged = authOn(billing());
      bridged.auth = { enabled: true, state: billing(), fromUpgrade: true };
      expect(exec(bridged, cmd("AUTH", "own"))).toBeNull();
      expect(bridged.asked).toEqual(["authenticate own"]);
      bridged.auth.authed = true;
      expect(error(bridged, cmd("AUTH", "again"))).toBe("fatal: E_INVALID AUTH already set");
    });

    it("a refused topic or channel: E_UNAUTHORIZED, with nsqd's text", () => {
      const c = authOn(billing());
      expect(error(c, cmd("SUB orders shipping"))).toBe('fatal: E_UNAUTHORIZED AUTH failed for SUB on "orders" "shipping"');
      expect(error(c, cmd("PUB invoices", "x"))).toBe('fatal: E_UNAUTHORIZED AUTH failed for PUB on "invoices" ""');
      expect(error(c, cmd("MPUB invoices", undefined, true))).toBe('fatal: E_UNAUTHORIZED AUTH failed for MPUB on "invoices" ""');
      exec(c, cmd("PUB orders", "x"));
      exec(c, cmd("SUB orders billing"));
      expect(c.asked).toEqual(["PUB orders 0 1", "subscribe orders billing"]);
    });

    it("an answer re-asked into no authorizations: E_UNAUTHORIZED, as nsqd (not E_AUTH_FIRST)", () => {
      const c = authOn(answer(60, []));
      expect(error(c, cmd("PUB orders", "x"))).toBe('fatal: E_UNAUTHORIZED AUTH failed for PUB on "orders" ""');
      expect(error(c, cmd("SUB orders billing"))).toBe('fatal: E_UNAUTHORIZED AUTH failed for SUB on "orders" "billing"');
    });

    it("an expired answer is asked again before the command runs (not on a line alone)", () => {
      const c = authOn(billing());
      c.clock = 60_001;
      expect(() => exec(c, cmd("PUB orders", "x"))).toThrow(AuthExpired);
      expect(exec(c, cmd("MPUB orders", undefined, true))).toBeNull();
      expect(c.asked).toEqual([]);
    });
  });
});

describe("a key in a publish's topic name (nsq-edge's, for sharded topics)", () => {
  it("topic@key is the topic and the key; nsqd's names keep their meaning", () => {
    expect(topicAndKey("orders")).toEqual({ topic: "orders" });
    expect(topicAndKey("orders@customer-42")).toEqual({ topic: "orders", key: "customer-42" });
    expect(topicAndKey("orders@a@b")).toEqual({ topic: "orders", key: "a@b" });
    for (const bad of ["orders@", "@k", "or!ders@k", "x".repeat(65) + "@k", "t@" + "k".repeat(257)]) expect(topicAndKey(bad)).toBeNull();
  });

  it("PUB, MPUB and DPUB pass the key on with the bare topic; a name with an empty key is E_BAD_TOPIC", () => {
    const c = new FakeClient();
    exec(c, cmd("PUB orders@k1", "x"));
    exec(c, cmd("DPUB orders@k2 10", "x"));
    exec(c, cmd("PUB orders", "x"));
    expect(c.asked).toEqual(["PUB orders 0 1 key=k1", "DPUB orders 10 1 key=k2", "PUB orders 0 1"]);
    expect(error(c, cmd("PUB orders@", undefined, true))).toBe('fatal: E_BAD_TOPIC PUB topic name "orders@" is not valid');
  });
});

describe("an idempotency key after a publish's topic (nsq-edge's; nsqd ignores the parameter)", () => {
  it("PUB, MPUB and DPUB take the parameter after nsqd's as the key", () => {
    const c = new FakeClient();
    exec(c, cmd("PUB orders inv-1", "x"));
    exec(c, cmd("DPUB orders 10 inv-2", "x"));
    exec(c, cmd("PUB orders@k inv-3", "x"));
    expect(c.asked).toEqual(["PUB orders 0 1 idem=inv-1", "DPUB orders 10 1 idem=inv-2", "PUB orders 0 1 key=k idem=inv-3"]);
  });

  it("a key longer than 256 is E_INVALID, before any body", () => {
    const c = new FakeClient();
    expect(error(c, cmd(`PUB orders ${"k".repeat(257)}`, undefined, true))).toBe("fatal: E_INVALID PUB idempotency key longer than 256");
  });
});
