// The V2 verbs, as nsqd's protocol_v2.go has them: one handler per verb, all of one shape. A
// handler checks the state, then the arguments, in nsqd's order and with nsqd's error text; asks
// the connection for what the channel or the topic must do; and returns the response to send now
// (null: none now, or one that comes in its slot later). It throws a ProtocolError; a fatal one
// closes the connection once sent.
//
// The state machine, all of it here:
//
//   init ──SUB──▶ subscribed ──CLS──▶ closing
//
//   IDENTIFY, AUTH, SUB    in init only
//   RDY                    once subscribed; ignored once closing, as nsqd does
//   FIN, REQ, TOUCH        once subscribed, and while closing
//   CLS                    once subscribed
//   PUB, MPUB, DPUB, NOP   in any state
import type { Config } from "../config";
import { fatal, ProtocolError } from "../protocol/errors";
import { responseFrame } from "../protocol/frames";
import type { LinkCommand } from "../protocol/link";
import { decodeMpubBody } from "../protocol/mpub";
import { isValidName } from "../protocol/names";
import { MAX_IDEMPOTENCY_KEY } from "../objects";
import type { Command } from "../protocol/parser";
import { checkAuth, checkAuthCommand, type ConnectionAuth } from "./auth";
import { negotiate, parseIdentify, type Settings } from "./identify";

export type State = "init" | "subscribed" | "closing";

/** What a verb sees of its connection, and what it may ask of it. */
export interface Client {
  state: State;
  readonly settings: Settings;
  readonly cfg: Config;
  /** The connection's auth (./auth.ts). */
  readonly auth: ConnectionAuth;
  now(): number;
  /** AUTH: ask who the secret is; answered in its slot, and the commands after it wait for that. */
  authenticate(secret: string): void;
  /** IDENTIFY succeeded: these are the client's settings from now on. */
  identified(settings: Settings): void;
  /** SUB: join the channel; answered OK, or E_SUB_FAILED and a close, in its slot. */
  subscribe(topic: string, channel: string): void;
  /** A checked channel command (RDY, FIN, REQ, TOUCH, CLS): the channel answers only if it fails. */
  channel(cmd: LinkCommand): void;
  /** A checked publish: answered OK once its topic has stored it, or E_<verb>_FAILED and a close. */
  /** `key`: a sharded topic's key (src/topic/shards.ts), from the name "topic@key". */
  /** `key` picks a sharded topic's shard; `idempotencyKey` makes a repeat a duplicate (src/topic/admission.ts). */
  publish(verb: string, topic: string, deferMs: number, bodies: Uint8Array | Uint8Array[], key?: string, idempotencyKey?: string): void;
}

/** The shape of every verb. */
export type Verb = (c: Client, cmd: Command) => Uint8Array | null;

const CLOSE_WAIT = responseFrame("CLOSE_WAIT");
const encoder = new TextEncoder();
const goQuote = (s: string) => JSON.stringify(s);

/** Runs one command read from the client. */
export function exec(c: Client, cmd: Command): Uint8Array | null {
  if (cmd.head) return checkLine(c, cmd);
  switch (cmd.name) {
    case "IDENTIFY":
      return identify(c, cmd);
    case "AUTH":
      return auth(c, cmd);
    case "SUB":
      return sub(c, cmd);
    case "RDY":
      return rdy(c, cmd);
    case "FIN":
      return fin(c, cmd);
    case "REQ":
      return req(c, cmd);
    case "TOUCH":
      return touch(c, cmd);
    case "CLS":
      return cls(c, cmd);
    case "NOP":
      return null;
    case "PUB":
    case "MPUB":
    case "DPUB":
      return publish(c, cmd);
    default:
      throw fatal("E_INVALID", `invalid command ${cmd.name}`);
  }
}

/**
 * A body command whose body has not arrived: nsqd checks its line before reading the size, so
 * what the line alone decides is answered now, not when (or if) the body comes.
 */
function checkLine(c: Client, cmd: Command): null {
  if (cmd.name === "IDENTIFY") identifyLine(c);
  else if (cmd.name === "AUTH") authLine(c, cmd);
  else publishLine(c, cmd);
  return null;
}

/** nsqd's ByteToBase10: digits only (the empty string is 0). */
function base10(text: string | undefined): number | null {
  if (text === undefined) return 0;
  return /^[0-9]*$/.test(text) ? Number(text || "0") : null;
}

function checkBody(cmd: Command, code: string, what: string, limit: number, tooBig: string) {
  const len = cmd.bodyLen ?? 0;
  if (len <= 0) throw fatal(code, `${cmd.name} invalid ${what} size ${len}`);
  if (len > limit) throw fatal(code, `${cmd.name} ${tooBig} ${len} > ${limit}`);
}

// ---- init: IDENTIFY, AUTH, SUB ---------------------------------------------------------------

function identifyLine(c: Client) {
  if (c.state !== "init") throw fatal("E_INVALID", "cannot IDENTIFY in current state");
}

const identify: Verb = (c, cmd) => {
  identifyLine(c);
  checkBody(cmd, "E_BAD_BODY", "body", c.cfg.maxBodySize, "body too big");
  const data = parseIdentify(cmd.body!);
  if (data instanceof ProtocolError) throw data;
  const done = negotiate(c.settings, c.cfg, data, c.auth.enabled && !c.auth.fromUpgrade);
  if (done instanceof ProtocolError) throw done;
  c.identified(done.settings);
  return done.response;
};

function authLine(c: Client, cmd: Command) {
  if (c.state !== "init") throw fatal("E_INVALID", "cannot AUTH in current state");
  if (cmd.params.length !== 0) throw fatal("E_INVALID", "AUTH invalid number of parameters");
}

const auth: Verb = (c, cmd) => {
  authLine(c, cmd);
  checkBody(cmd, "E_BAD_BODY", "body", c.cfg.maxBodySize, "body too big");
  checkAuthCommand(c.auth);
  c.authenticate(new TextDecoder().decode(cmd.body!));
  return null;
};

const sub: Verb = (c, cmd) => {
  if (c.state !== "init") throw fatal("E_INVALID", "cannot SUB in current state");
  if (c.settings.heartbeatInterval <= 0) throw fatal("E_INVALID", "cannot SUB with heartbeats disabled");
  if (cmd.params.length < 2) throw fatal("E_INVALID", "SUB insufficient number of parameters");
  const [topic, channel] = cmd.params;
  if (!isValidName(topic)) throw fatal("E_BAD_TOPIC", `SUB topic name ${goQuote(topic)} is not valid`);
  if (!isValidName(channel)) throw fatal("E_BAD_CHANNEL", `SUB channel name ${goQuote(channel)} is not valid`);
  checkAuth(c.auth, c.now(), "SUB", topic, channel);
  c.state = "subscribed";
  c.subscribe(topic, channel);
  return null;
};

// ---- subscribed: RDY, FIN, REQ, TOUCH, CLS ---------------------------------------------------

const rdy: Verb = (c, cmd) => {
  if (c.state === "closing") return null; // nsqd ignores RDY after CLS
  if (c.state !== "subscribed") throw fatal("E_INVALID", "cannot RDY in current state");
  let count = 1;
  if (cmd.params.length > 0) {
    const n = base10(cmd.params[0]);
    if (n === null) throw fatal("E_INVALID", `RDY could not parse count ${cmd.params[0]}`);
    count = n;
  }
  const max = c.cfg.maxRdyCount;
  if (count < 0 || count > max) throw fatal("E_INVALID", `RDY count ${count} out of range 0-${max}`);
  c.channel({ op: "RDY", count });
  return null;
};

function messageId(c: Client, cmd: Command, verb: string, params: number): string {
  if (c.state !== "subscribed" && c.state !== "closing") throw fatal("E_INVALID", `cannot ${verb} in current state`);
  if (cmd.params.length < params - 1) throw fatal("E_INVALID", `${verb} insufficient number of params`);
  const id = cmd.params[0];
  // nsqd checks the id's length in bytes.
  if (!(id.length === 16 && /^[\x00-\x7f]*$/.test(id)) && encoder.encode(id).length !== 16)
    throw fatal("E_INVALID", "invalid message ID");
  return id;
}

const fin: Verb = (c, cmd) => {
  c.channel({ op: "FIN", id: messageId(c, cmd, "FIN", 2) });
  return null;
};

const touch: Verb = (c, cmd) => {
  c.channel({ op: "TOUCH", id: messageId(c, cmd, "TOUCH", 2) });
  return null;
};

const req: Verb = (c, cmd) => {
  const id = messageId(c, cmd, "REQ", 3);
  const ms = base10(cmd.params[1]);
  if (ms === null) throw fatal("E_INVALID", `REQ could not parse timeout ${cmd.params[1]}`);
  c.channel({ op: "REQ", id, delayMs: Math.min(ms, c.cfg.maxReqTimeout) });
  return null;
};

const cls: Verb = (c) => {
  if (c.state !== "subscribed") throw fatal("E_INVALID", "cannot CLS in current state");
  c.state = "closing";
  c.channel({ op: "CLS" });
  return CLOSE_WAIT;
};

// ---- any state: PUB, MPUB, DPUB ------------------------------------------------------------

/**
 * The line of a PUB, MPUB or DPUB, checked as nsqd does before it reads the body (MPUB's auth
 * included; PUB and DPUB check auth after the body); returns the delay.
 */
/**
 * A publish's topic and key: "orders@customer-42" is topic orders with key customer-42 (nsq-edge's:
 * nsqd refuses "@" in a name, so no name nsqd takes changes meaning). Null: not a valid name.
 */
export function topicAndKey(name: string): { topic: string; key?: string } | null {
  const at = name.indexOf("@");
  if (at < 0) return isValidName(name) ? { topic: name } : null;
  const topic = name.slice(0, at);
  const key = name.slice(at + 1);
  return isValidName(topic) && key.length > 0 && key.length <= 256 ? { topic, key } : null;
}

/** nsq-edge's idempotency key: the parameter after nsqd's (which nsqd itself ignores). */
function idempotencyKeyOf(verb: string, cmd: Command): string | undefined {
  const key = cmd.params[verb === "DPUB" ? 2 : 1];
  if (key === undefined) return undefined;
  if (key.length > MAX_IDEMPOTENCY_KEY) throw fatal("E_INVALID", `${verb} idempotency key longer than ${MAX_IDEMPOTENCY_KEY}`);
  return key;
}

function publishLine(c: Client, cmd: Command): { deferMs: number; topic: string; key?: string; idempotencyKey?: string } {
  const verb = cmd.name;
  const minParams = verb === "DPUB" ? 2 : 1;
  if (cmd.params.length < minParams) throw fatal("E_INVALID", `${verb} insufficient number of parameters`);
  const named = topicAndKey(cmd.params[0]);
  if (named === null) {
    const topic = cmd.params[0];
    // nsqd repeats the code inside MPUB's description.
    const prefix = verb === "MPUB" ? "E_BAD_TOPIC " : "";
    throw fatal("E_BAD_TOPIC", `${prefix}${verb} topic name ${goQuote(topic)} is not valid`);
  }
  const { topic, key } = named;
  if (verb === "MPUB") checkAuth(c.auth, c.now(), verb, topic, "", cmd.head);
  const idempotencyKey = idempotencyKeyOf(verb, cmd);
  if (verb !== "DPUB") return { deferMs: 0, topic, key, idempotencyKey };
  const ms = base10(cmd.params[1]);
  if (ms === null) throw fatal("E_INVALID", `DPUB could not parse timeout ${cmd.params[1]}`);
  const max = c.cfg.maxReqTimeout;
  if (ms > max) throw fatal("E_INVALID", `DPUB timeout ${ms} out of range 0-${max}`);
  return { deferMs: ms, topic, key, idempotencyKey };
}

const publish: Verb = (c, cmd) => {
  const { deferMs, topic, key, idempotencyKey } = publishLine(c, cmd);
  const cfg = c.cfg;
  if (cmd.name === "MPUB") {
    checkBody(cmd, "E_BAD_BODY", "body", cfg.maxBodySize, "body too big");
    c.publish("MPUB", topic, deferMs, decodeMpubBody(cmd.body!, cfg.maxMsgSize, cfg.maxBodySize), key, idempotencyKey);
  } else {
    checkBody(cmd, "E_BAD_MESSAGE", "message body", cfg.maxMsgSize, "message too big");
    checkAuth(c.auth, c.now(), cmd.name, topic, "");
    c.publish(cmd.name, topic, deferMs, cmd.body!, key, idempotencyKey);
  }
  return null;
};
