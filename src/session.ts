// A V2 protocol session: one client WebSocket carrying the byte stream nsqd reads on its TCP
// port. Mirrors nsqd's protocol_v2.go: each verb is checked (state, arguments) in nsqd's order
// with nsqd's error strings, then handed to a topic (PUB, MPUB, DPUB) or to the subscribed
// channel (RDY, FIN, REQ, TOUCH, CLS) over a WebSocket link to its object.
//
// Responses leave in command order: a publish's OK waits for its topic, and whatever follows
// it waits behind it.
import type { Config, Env } from "./config";
import { VERSION } from "./config";
import { fatal, ProtocolError } from "./protocol/errors";
import { errorFrame, responseFrame, sendChunked } from "./protocol/frames";
import { decodeMpubBody } from "./protocol/mpub";
import { isValidName } from "./protocol/names";
import { hostOf } from "./protocol/remote-address";
import { BadMagicError, type Command, ParseError, V2Parser } from "./protocol/parser";
import { concatAll } from "./protocol/commands";
import { encodeLink, linkRequest, type ClientInfo, type LinkCommand } from "./protocol/link";
import { channelStub, topicStub } from "./stubs";

type State = "init" | "subscribed" | "closing";

/** One response slot: filled at once, or when a publish settles. */
interface Slot {
  data: Uint8Array | null;
  done: boolean;
  close?: boolean;
}

interface PublishGroup {
  key: string;
  topic: string;
  deferMs: number;
  bodies: Uint8Array[];
  bytes: number;
  slots: { slot: Slot; verb: string }[];
}

/** A publish RPC carries at most this much; more goes out in parallel. */
const GROUP_MAX_BYTES = 4 * 1024 * 1024;

const encoder = new TextEncoder();
const OK = responseFrame("OK");
const HEARTBEAT = responseFrame("_heartbeat_");
const goQuote = (s: string) => JSON.stringify(s);

/** nsqd's ByteToBase10: digits only (the empty string is 0). */
function base10(text: string | undefined): number | null {
  if (text === undefined) return 0;
  return /^[0-9]*$/.test(text) ? Number(text || "0") : null;
}

export class V2Session {
  private state: State = "init";
  private parser: V2Parser;
  private slots: Slot[] = [];
  private closed = false;
  /** A fatal error is on its way out: like nsqd, read nothing more from this client. */
  private stopped = false;
  /** A publish failed: its error closes the connection, so nothing queued behind it is sent. */
  private publishFailed = false;
  /** Heartbeats sent since the client last sent anything. */
  private unanswered = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatInterval: number;
  private msgTimeout: number;
  private sampleRate = 0;
  private outputBufferSize: number;
  private outputBufferTimeout: number;
  private clientId: string;
  private hostname: string;
  private userAgent = "";
  private link: WebSocket | null = null;
  /** Topics (and delays) with a publish RPC under way -> the publishes waiting behind it. */
  private publishing = new Map<string, PublishGroup | null>();
  /** Numbers each link message: workerd may hand a hibernatable socket's messages over out of order. */
  private linkSeq = 0;
  /** Channel commands issued before the link is open. */
  private linkBacklog: LinkCommand[] | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly env: Env,
    private readonly cfg: Config,
    private readonly remoteAddress: string,
  ) {
    this.parser = new V2Parser(cfg);
    this.heartbeatInterval = cfg.heartbeatInterval;
    this.msgTimeout = cfg.msgTimeout;
    this.outputBufferSize = cfg.outputBufferSize;
    this.outputBufferTimeout = cfg.outputBufferTimeout;
    this.clientId = this.hostname = hostOf(remoteAddress);
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => this.onData(e.data));
    // Answer the peer's close, even an abrupt one (1006): workerd keeps the request open until
    // the Worker closes its side too, and reports a request left so as hung.
    ws.addEventListener("close", () => this.close());
    ws.addEventListener("error", () => this.close());
    this.startHeartbeats();
  }

  // ---- I/O -------------------------------------------------------------------------------

  private onData(data: ArrayBuffer | string) {
    if (this.closed || this.stopped) return;
    this.unanswered = 0;
    const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
    let commands: Command[];
    let overlong = false;
    try {
      commands = this.parser.feed(bytes);
    } catch (e) {
      // nsqd answers a bad magic with E_BAD_PROTOCOL; an overlong line just drops the connection,
      // once the commands read before it have run and been answered.
      if (e instanceof BadMagicError) return this.respond(errorFrame("E_BAD_PROTOCOL"), true);
      if (!(e instanceof ParseError)) return this.close();
      commands = e.commands;
      overlong = true;
    }
    const groups = new Map<string, PublishGroup>();
    const linkOut: LinkCommand[] = [];
    for (const cmd of commands) {
      try {
        this.exec(cmd, groups, linkOut);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.respond(errorFrame(e.message), e.fatal);
        if (e.fatal) break;
      }
    }
    if (overlong) this.respond(null, true);
    if (linkOut.length) this.sendLink(linkOut);
    for (const g of groups.values()) this.publish(g);
  }

  private respond(data: Uint8Array | null, close = false) {
    if (close) this.stopped = true;
    this.slots.push({ data, done: true, close });
    this.flush();
  }

  /** Sends every settled response at the head of the queue, in one WebSocket message. */
  private flush() {
    const out: Uint8Array[] = [];
    let close = false;
    while (this.slots.length && this.slots[0].done) {
      const s = this.slots.shift()!;
      if (s.data) out.push(s.data);
      if (s.close) {
        close = true;
        this.slots = [];
        break;
      }
    }
    if (out.length) this.send(out.length === 1 ? out[0] : concatAll(out));
    if (close) this.close();
  }

  private send(data: Uint8Array) {
    if (this.closed) return;
    try {
      sendChunked(this.ws, data);
    } catch {
      this.shutdown();
    }
  }

  private close() {
    if (this.closed) return;
    try {
      this.ws.close(1000, "closed");
    } catch {
      // already closing
    }
    this.shutdown();
  }

  private shutdown() {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    // The channel requeues whatever this client had in flight when the link closes.
    try {
      this.link?.close(1000, "client gone");
    } catch {
      // already closed
    }
  }

  /** nsqd sends a heartbeat every interval; a client that answers none of two is dropped. */
  private startHeartbeats() {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.heartbeatInterval <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      if (this.unanswered >= 2) return this.close();
      this.unanswered++;
      this.respond(HEARTBEAT);
    }, this.heartbeatInterval);
  }

  // ---- commands --------------------------------------------------------------------------

  private exec(cmd: Command, groups: Map<string, PublishGroup>, linkOut: LinkCommand[]) {
    if (cmd.head) return this.checkHead(cmd);
    switch (cmd.name) {
      case "IDENTIFY":
        return this.respond(this.identify(cmd));
      case "AUTH":
        return this.auth(cmd);
      case "SUB":
        return this.sub(cmd);
      case "RDY":
        return this.rdy(cmd, linkOut);
      case "FIN":
        return this.fin(cmd, linkOut);
      case "REQ":
        return this.req(cmd, linkOut);
      case "TOUCH":
        return this.touch(cmd, linkOut);
      case "CLS":
        if (this.state !== "subscribed") throw fatal("E_INVALID", "cannot CLS in current state");
        this.state = "closing";
        linkOut.push({ op: "CLS" });
        return this.respond(responseFrame("CLOSE_WAIT"));
      case "NOP":
        return;
      case "PUB":
      case "MPUB":
      case "DPUB":
        return this.queuePublish(cmd, groups);
      default:
        throw fatal("E_INVALID", `invalid command ${cmd.name}`);
    }
  }

  /**
   * A body command whose body has not arrived: nsqd checks its line before reading the size, so
   * what the line alone decides is answered now, not when (or if) the body comes.
   */
  private checkHead(cmd: Command) {
    switch (cmd.name) {
      case "IDENTIFY":
        return this.identifyLine();
      case "AUTH":
        return this.authLine(cmd);
      default:
        this.publishLine(cmd);
    }
  }

  private checkBody(cmd: Command, code: string, what: string, limit: number, tooBig: string) {
    const len = cmd.bodyLen ?? 0;
    if (len <= 0) throw fatal(code, `${cmd.name} invalid ${what} size ${len}`);
    if (len > limit) throw fatal(code, `${cmd.name} ${tooBig} ${len} > ${limit}`);
  }

  private identifyLine() {
    if (this.state !== "init") throw fatal("E_INVALID", "cannot IDENTIFY in current state");
  }

  private identify(cmd: Command): Uint8Array {
    this.identifyLine();
    this.checkBody(cmd, "E_BAD_BODY", "body", this.cfg.maxBodySize, "body too big");
    let data: Record<string, unknown>;
    try {
      // Go's json.Unmarshal takes a JSON null as "no fields".
      data = JSON.parse(new TextDecoder().decode(cmd.body)) ?? {};
      if (typeof data !== "object" || Array.isArray(data)) throw new Error("not an object");
      checkIdentifyTypes(data);
    } catch {
      throw fatal("E_BAD_BODY", "IDENTIFY failed to decode JSON body");
    }
    const num = (k: string) => (data[k] as number | undefined) ?? 0;
    const cfg = this.cfg;

    const heartbeat = num("heartbeat_interval");
    let heartbeatInterval = this.heartbeatInterval;
    if (heartbeat === -1) heartbeatInterval = 0;
    else if (heartbeat !== 0) {
      if (heartbeat < 1000 || heartbeat > cfg.maxHeartbeatInterval)
        throw fatal("E_BAD_BODY", `IDENTIFY heartbeat interval (${heartbeat}) is invalid`);
      heartbeatInterval = heartbeat;
    }
    const bufTimeout = num("output_buffer_timeout");
    let outputBufferTimeout = this.outputBufferTimeout;
    if (bufTimeout === -1) outputBufferTimeout = 0;
    else if (bufTimeout !== 0) {
      if (bufTimeout < cfg.minOutputBufferTimeout || bufTimeout > cfg.maxOutputBufferTimeout)
        throw fatal("E_BAD_BODY", `IDENTIFY output buffer timeout (${bufTimeout}) is invalid`);
      outputBufferTimeout = bufTimeout;
    }
    const bufSize = num("output_buffer_size");
    let outputBufferSize = this.outputBufferSize;
    if (bufSize === -1) {
      outputBufferSize = 1;
      outputBufferTimeout = 0;
    } else if (bufSize !== 0) {
      if (bufSize < 64 || bufSize > cfg.maxOutputBufferSize)
        throw fatal("E_BAD_BODY", `IDENTIFY output buffer size (${bufSize}) is invalid`);
      outputBufferSize = bufSize;
    }
    const sampleRate = num("sample_rate");
    if (sampleRate < 0 || sampleRate > 99) throw fatal("E_BAD_BODY", `IDENTIFY sample rate (${sampleRate}) is invalid`);
    const msgTimeout = num("msg_timeout");
    if (msgTimeout !== 0 && (msgTimeout < 1000 || msgTimeout > cfg.maxMsgTimeout))
      throw fatal("E_BAD_BODY", `IDENTIFY msg timeout (${msgTimeout}) is invalid`);

    this.clientId = (data.client_id as string | undefined) ?? "";
    this.hostname = (data.hostname as string | undefined) ?? "";
    this.userAgent = (data.user_agent as string | undefined) ?? "";
    this.heartbeatInterval = heartbeatInterval;
    this.outputBufferTimeout = outputBufferTimeout;
    this.outputBufferSize = outputBufferSize;
    this.sampleRate = sampleRate;
    if (msgTimeout !== 0) this.msgTimeout = msgTimeout;
    this.startHeartbeats();

    if (data.feature_negotiation !== true) return OK;
    // TLS is the HTTPS in front of the WebSocket; compression is the WebSocket's, so both are off here.
    return responseFrame(
      JSON.stringify({
        max_rdy_count: cfg.maxRdyCount,
        version: VERSION,
        max_msg_timeout: cfg.maxMsgTimeout,
        msg_timeout: this.msgTimeout,
        tls_v1: false,
        deflate: false,
        deflate_level: 6,
        max_deflate_level: 6,
        snappy: false,
        sample_rate: this.sampleRate,
        auth_required: false,
        output_buffer_size: this.outputBufferSize,
        output_buffer_timeout: this.outputBufferTimeout,
        topology_region: "",
        topology_zone: "",
      }),
    );
  }

  private authLine(cmd: Command) {
    if (this.state !== "init") throw fatal("E_INVALID", "cannot AUTH in current state");
    if (cmd.params.length !== 0) throw fatal("E_INVALID", "AUTH invalid number of parameters");
  }

  private auth(cmd: Command) {
    this.authLine(cmd);
    this.checkBody(cmd, "E_BAD_BODY", "body", this.cfg.maxBodySize, "body too big");
    throw fatal("E_AUTH_DISABLED", "AUTH disabled");
  }

  private sub(cmd: Command) {
    if (this.state !== "init") throw fatal("E_INVALID", "cannot SUB in current state");
    if (this.heartbeatInterval <= 0) throw fatal("E_INVALID", "cannot SUB with heartbeats disabled");
    if (cmd.params.length < 2) throw fatal("E_INVALID", "SUB insufficient number of parameters");
    const [topic, channel] = cmd.params;
    if (!isValidName(topic)) throw fatal("E_BAD_TOPIC", `SUB topic name ${goQuote(topic)} is not valid`);
    if (!isValidName(channel)) throw fatal("E_BAD_CHANNEL", `SUB channel name ${goQuote(channel)} is not valid`);
    this.state = "subscribed";
    this.linkBacklog = [];
    const slot: Slot = { data: null, done: false };
    this.slots.push(slot);
    this.openLink(topic, channel).then(
      () => {
        slot.data = OK;
        slot.done = true;
        this.flush();
      },
      (e) => {
        slot.data = errorFrame(`E_SUB_FAILED SUB failed ${errorText(e)}`);
        slot.done = true;
        slot.close = true;
        this.stopped = true;
        this.flush();
      },
    );
  }

  private async openLink(topic: string, channel: string) {
    const info: ClientInfo = {
      client_id: this.clientId,
      hostname: this.hostname,
      remote_address: this.remoteAddress,
      user_agent: this.userAgent,
      msg_timeout: this.msgTimeout,
      sample_rate: this.sampleRate,
      connect_ts: Math.floor(Date.now() / 1000),
      deflate: false,
      snappy: false,
      tls: false,
    };
    // As nsqd does, retry once when an ephemeral channel is deleted between create and join.
    for (let attempt = 1; ; attempt++) {
      await topicStub(this.env, topic).createChannel(topic, channel);
      const res = await channelStub(this.env, topic, channel).fetch(linkRequest(info));
      const link = res.webSocket;
      if (link) return this.attach(link);
      if (attempt >= 3) throw new Error("to deleted topic/channel");
    }
  }

  private attach(link: WebSocket) {
    link.binaryType = "arraybuffer";
    link.accept();
    if (this.closed) {
      link.close(1000, "client gone");
      return;
    }
    this.link = link;
    // Message frames and channel errors go to the client as they are.
    link.addEventListener("message", (e) => {
      const data = e.data;
      this.respond(typeof data === "string" ? encoder.encode(data) : new Uint8Array(data as ArrayBuffer));
    });
    // The channel went away (deleted, or its object restarted): so does this client, as with nsqd.
    link.addEventListener("close", () => this.close());
    link.addEventListener("error", () => this.close());
    const backlog = this.linkBacklog ?? [];
    this.linkBacklog = null;
    if (backlog.length) this.sendLink(backlog);
  }

  private sendLink(cmds: LinkCommand[]) {
    if (this.linkBacklog) {
      for (const c of cmds) this.linkBacklog.push(c);
      return;
    }
    try {
      this.link?.send(encodeLink(this.linkSeq++, cmds));
    } catch {
      this.close();
    }
  }

  private rdy(cmd: Command, linkOut: LinkCommand[]) {
    if (this.state === "closing") return; // nsqd ignores RDY after CLS
    if (this.state !== "subscribed") throw fatal("E_INVALID", "cannot RDY in current state");
    let count = 1;
    if (cmd.params.length > 0) {
      const n = base10(cmd.params[0]);
      if (n === null) throw fatal("E_INVALID", `RDY could not parse count ${cmd.params[0]}`);
      count = n;
    }
    if (count < 0 || count > this.cfg.maxRdyCount)
      throw fatal("E_INVALID", `RDY count ${count} out of range 0-${this.cfg.maxRdyCount}`);
    linkOut.push({ op: "RDY", count });
  }

  private messageId(cmd: Command, verb: string, params: number): string {
    if (this.state !== "subscribed" && this.state !== "closing")
      throw fatal("E_INVALID", `cannot ${verb} in current state`);
    if (cmd.params.length < params - 1) throw fatal("E_INVALID", `${verb} insufficient number of params`);
    const id = cmd.params[0];
    // nsqd checks the id's length in bytes.
    if (!(id.length === 16 && /^[\x00-\x7f]*$/.test(id)) && encoder.encode(id).length !== 16)
      throw fatal("E_INVALID", "invalid message ID");
    return id;
  }

  private fin(cmd: Command, linkOut: LinkCommand[]) {
    const id = this.messageId(cmd, "FIN", 2);
    linkOut.push({ op: "FIN", id });
  }

  private touch(cmd: Command, linkOut: LinkCommand[]) {
    const id = this.messageId(cmd, "TOUCH", 2);
    linkOut.push({ op: "TOUCH", id });
  }

  private req(cmd: Command, linkOut: LinkCommand[]) {
    const id = this.messageId(cmd, "REQ", 3);
    const ms = base10(cmd.params[1]);
    if (ms === null) throw fatal("E_INVALID", `REQ could not parse timeout ${cmd.params[1]}`);
    linkOut.push({ op: "REQ", id, delayMs: Math.min(ms, this.cfg.maxReqTimeout) });
  }

  /** The line of a PUB, MPUB or DPUB, checked as nsqd does before it reads the body: topic and delay. */
  private publishLine(cmd: Command): { topic: string; deferMs: number } {
    const verb = cmd.name;
    const minParams = verb === "DPUB" ? 2 : 1;
    if (cmd.params.length < minParams) throw fatal("E_INVALID", `${verb} insufficient number of parameters`);
    const topic = cmd.params[0];
    if (!isValidName(topic)) {
      // nsqd repeats the code inside MPUB's description.
      const prefix = verb === "MPUB" ? "E_BAD_TOPIC " : "";
      throw fatal("E_BAD_TOPIC", `${prefix}${verb} topic name ${goQuote(topic)} is not valid`);
    }
    let deferMs = 0;
    if (verb === "DPUB") {
      const ms = base10(cmd.params[1]);
      if (ms === null) throw fatal("E_INVALID", `DPUB could not parse timeout ${cmd.params[1]}`);
      if (ms > this.cfg.maxReqTimeout)
        throw fatal("E_INVALID", `DPUB timeout ${ms} out of range 0-${this.cfg.maxReqTimeout}`);
      deferMs = ms;
    }
    return { topic, deferMs };
  }

  /** Checks a PUB, MPUB or DPUB and adds it to this chunk's group for its topic. */
  private queuePublish(cmd: Command, groups: Map<string, PublishGroup>) {
    const verb = cmd.name;
    const { topic, deferMs } = this.publishLine(cmd);
    let bodies: Uint8Array[];
    if (verb === "MPUB") {
      this.checkBody(cmd, "E_BAD_BODY", "body", this.cfg.maxBodySize, "body too big");
      bodies = decodeMpubBody(cmd.body!, this.cfg.maxMsgSize, this.cfg.maxBodySize);
    } else {
      this.checkBody(cmd, "E_BAD_MESSAGE", "message body", this.cfg.maxMsgSize, "message too big");
      bodies = [cmd.body!];
    }
    const key = `${topic}\n${deferMs}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, topic, deferMs, bodies: [], bytes: 0, slots: [] }));
    for (const b of bodies) {
      g.bodies.push(b);
      g.bytes += b.length;
    }
    const slot: Slot = { data: null, done: false };
    this.slots.push(slot);
    g.slots.push({ slot, verb });
  }

  /**
   * Sends a group to its topic. While one RPC per topic is under way, later publishes gather
   * behind it and leave together when it settles: fewer, larger RPCs under load, and messages
   * stored in the order they came.
   */
  private publish(g: PublishGroup) {
    if (this.publishing.has(g.key)) {
      const next = this.publishing.get(g.key);
      if (next && next.bytes + g.bytes <= GROUP_MAX_BYTES) {
        for (const b of g.bodies) next.bodies.push(b);
        for (const s of g.slots) next.slots.push(s);
        next.bytes += g.bytes;
      } else if (!next) {
        this.publishing.set(g.key, g);
      } else {
        this.sendGroup(g);
      }
      return;
    }
    this.publishing.set(g.key, null);
    this.sendGroup(g).finally(() => {
      const next = this.publishing.get(g.key);
      this.publishing.delete(g.key);
      // Publishes read before a fatal protocol error are still carried out and answered (its
      // error waits behind them); after a failed publish the connection closes with its error.
      if (next && !this.publishFailed && !this.closed) this.publish(next);
    });
  }

  private sendGroup(g: PublishGroup): Promise<void> {
    return topicStub(this.env, g.topic)
      .publish(g.topic, g.bodies, g.deferMs)
      .then(
        () => {
          for (const { slot } of g.slots) {
            slot.data = OK;
            slot.done = true;
          }
        },
        (e) => {
          for (const { slot, verb } of g.slots) {
            slot.data = errorFrame(`E_${verb}_FAILED ${verb} failed ${errorText(e)}`);
            slot.done = true;
            slot.close = true;
            this.stopped = true;
            this.publishFailed = true;
          }
        },
      )
      .finally(() => this.flush());
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const IDENTIFY_TYPES: Record<string, string> = {
  client_id: "string",
  hostname: "string",
  user_agent: "string",
  topology_region: "string",
  topology_zone: "string",
  heartbeat_interval: "integer",
  output_buffer_size: "integer",
  output_buffer_timeout: "integer",
  deflate_level: "integer",
  sample_rate: "integer",
  msg_timeout: "integer",
  feature_negotiation: "boolean",
  tls_v1: "boolean",
  deflate: "boolean",
  snappy: "boolean",
};

/** Go's json.Unmarshal fails on a field of the wrong type; unknown fields are ignored. */
function checkIdentifyTypes(data: Record<string, unknown>) {
  for (const [key, type] of Object.entries(IDENTIFY_TYPES)) {
    const v = data[key];
    if (v === undefined || v === null) continue;
    const ok = type === "integer" ? Number.isInteger(v) : typeof v === type;
    if (!ok) throw new Error(`${key} is not a ${type}`);
  }
}
