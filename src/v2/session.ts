// A V2 protocol session: one client WebSocket carrying the byte stream nsqd reads on its TCP
// port. This class is the I/O: it feeds the socket's bytes to the parser, runs each command
// (./verbs.ts, nsqd's protocol_v2.go), and carries out what the verbs ask: publishes to the
// topics (./publishing.ts), channel commands over a WebSocket link to the channel's object,
// heartbeats (./heartbeats.ts), and every response in command order (./responses.ts). It runs
// in the Worker, or in a channel's object for a client that named that channel (./channel-session.ts).
import { isAllowed, isExpired, type AuthState } from "../auth/authorizations";
import type { Config, Env } from "../config";
import { authenticatorOf } from "../auth/worker";
import { ProtocolError } from "../protocol/errors";
import { errorFrame, responseFrame, sendChunked } from "../protocol/frames";
import { encodeLink, linkRequest, type ClientInfo, type LinkCommand } from "../protocol/link";
import { BadMagicError, type Command, ParseError, V2Parser } from "../protocol/parser";
import { hostOf } from "../protocol/remote-address";
import { channelStub, publishGroup, shardsOf, topicStub } from "../stubs";
import { shardName } from "../topic/shards";
import { ShardLinks } from "./shard-links";
import { AUTH_FAILED, AuthExpired, authAnswer, type ConnectionAuth } from "./auth";
import { Heartbeats, type IntervalTimer } from "./heartbeats";
import { initialSettings, type Settings } from "./identify";
import { Publisher, type Pending } from "./publishing";
import type { PublishAnswer } from "../objects";
import { OK, ResponseQueue, type Slot } from "./responses";
import { clientInfo, joinWithRetry } from "./subscribe";
import { exec, type Client, type State } from "./verbs";

const encoder = new TextEncoder();
const HEARTBEAT = responseFrame("_heartbeat_");
const TIMER: IntervalTimer = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as number),
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How often a subscribed session asks whether its topic has gained shards. */
const SHARD_CHECK_MS = 2000;
/** Held in place of the commands after an overlong line: nsqd drops the connection there. */
const OVERLONG = null;

/**
 * The channel whose object serves this session (a client that named it in its /ws URL): a SUB
 * to it is linked inside the object (./local-link.ts); null when the channel is gone.
 */
export interface LocalChannel {
  topic: string;
  channel: string;
  join(info: ClientInfo): WebSocket | null;
}

export class V2Session implements Client {
  state: State = "init";
  settings: Settings;
  private readonly parser: V2Parser;
  private readonly responses = new ResponseQueue();
  private readonly heartbeats: Heartbeats;
  private readonly publisher: Publisher<Slot>;
  private closed = false;
  private link: WebSocket | null = null;
  /** A sharded topic's links, one per shard, in place of `link`. */
  private shardLinks: ShardLinks | null = null;
  /** What SUB joined, for the links to shards added later. */
  private joined: { topic: string; channel: string; info: ClientInfo } | null = null;
  /** Checks now and then whether the topic gained shards; with `growing` while links open. */
  private shardCheck: ReturnType<typeof setInterval> | null = null;
  private growing = false;
  /** The client's RDY as last sent on the single link (taken over with it). */
  private rdy = 0;
  /** Numbers each link message: workerd may hand a hibernatable socket's messages over out of order. */
  private linkSeq = 0;
  /** The channel commands of the read under way (and any issued before the link opened): they leave together, in one link message. */
  private readonly linkOut: LinkCommand[] = [];
  readonly auth: ConnectionAuth;
  /** The secret of the connection's AUTH (or its upgrade's Bearer): an expired answer is asked again with it. */
  private secret = "";
  /** An auth server is being asked: the commands read meanwhile wait here, in order, as nsqd reads none. */
  private held: (Command | typeof OVERLONG)[] | null = null;
  private heldBytes = 0;
  /** When the identity's answer expires (a session served by its channel's object: keepWhileAllowed). */
  private permissionTimer: ReturnType<typeof setTimeout> | null = null;
  /** Nothing more is read: a bad magic, or an overlong line. */
  private readEnded = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly env: Env,
    readonly cfg: Config,
    private readonly remoteAddress: string,
    upgradeAuth: { state: AuthState; secret: string } | null = null,
    private readonly local: LocalChannel | null = null,
  ) {
    this.auth = { enabled: cfg.auth.mode !== "off", state: upgradeAuth?.state ?? null, fromUpgrade: upgradeAuth !== null };
    this.secret = upgradeAuth?.secret ?? "";
    this.parser = new V2Parser(cfg);
    this.settings = initialSettings(cfg, hostOf(remoteAddress));
    this.publisher = new Publisher<Slot>({
      // A sharded topic: each RPC to the next shard in turn (src/topic/shards.ts).
      publish: (topic, bodies, deferMs, key, units) => publishGroup(env, topic, bodies, deferMs, key, units),
      stored: (pending, answer) => this.published(pending, true, undefined, answer),
      failed: (pending, e) => this.published(pending, false, e),
    });
    this.heartbeats = new Heartbeats(
      TIMER,
      () => this.respond(HEARTBEAT),
      () => this.close(),
    );
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => this.onData(e.data));
    // Answer the peer's close, even an abrupt one (1006): workerd keeps the request open until
    // the Worker closes its side too, and reports a request left so as hung.
    ws.addEventListener("close", () => this.close());
    ws.addEventListener("error", () => this.close());
    this.heartbeats.start(this.settings.heartbeatInterval);
  }

  // ---- I/O -------------------------------------------------------------------------------

  private onData(data: ArrayBuffer | string) {
    // After a fatal error, like nsqd, read nothing more from this client.
    if (this.closed || this.responses.stopping || this.readEnded) return;
    this.heartbeats.heard();
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
      this.readEnded = true;
    }
    this.run(overlong ? [...commands, OVERLONG] : commands);
    this.sendQueued();
  }

  /** Runs commands in order; the read's answers are queued and leave together, in one WebSocket message. */
  private run(commands: (Command | typeof OVERLONG)[]) {
    for (let i = 0; i < commands.length; i++) {
      const cmd = commands[i]!;
      if (this.held) {
        this.held.push(cmd);
        // nsqd reads nothing while it asks; a WebSocket cannot be left unread, so what is held
        // is bounded: past two bodies' worth, the client is dropped.
        this.heldBytes += cmd?.body?.length ?? 0;
        if (this.heldBytes > 2 * this.cfg.maxBodySize) {
          this.held = [];
          this.close();
          return;
        }
        continue;
      }
      if (cmd === OVERLONG) {
        this.responses.add(null, true);
        break;
      }
      try {
        const response = exec(this, cmd);
        if (response) this.responses.add(response, false);
      } catch (e) {
        if (e instanceof AuthExpired) {
          // nsqd's IsAuthorized asks again before it checks: this command runs once that is answered.
          this.held = [cmd];
          this.reauthenticate();
          continue;
        }
        // A bug, not the client's error: drop the client rather than leave it half-served.
        if (!(e instanceof ProtocolError)) {
          this.close();
          throw e;
        }
        this.responses.add(errorFrame(e.message), e.fatal);
        if (e.fatal) break;
      }
    }
  }

  /** The commands held while an auth server was asked, run now that it has answered. */
  private resume() {
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    if (this.closed || this.responses.stopping) return;
    this.run(held);
    this.sendQueued();
  }

  /** What the commands run asked for: the channel's commands, the publishes, the answers. */
  private sendQueued() {
    this.sendLink();
    this.publisher.dispatch();
    this.flush();
  }

  private respond(data: Uint8Array | null, close = false) {
    this.responses.add(data, close);
    this.flush();
  }

  /** Sends every settled response at the head of the queue, in one WebSocket message. */
  private flush() {
    const out = this.responses.release();
    if (out) this.send(out);
    if (this.responses.ended) this.close();
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
    this.heartbeats.stop();
    this.publisher.stop();
    // The channel requeues whatever this client had in flight when the link closes.
    try {
      this.link?.close(1000, "client gone");
    } catch {
      // already closed
    }
    this.shardLinks?.close();
    if (this.shardCheck) clearInterval(this.shardCheck);
    if (this.permissionTimer) clearTimeout(this.permissionTimer);
  }

  /**
   * For a session its channel's object serves (./channel-session.ts): it lasts only while its
   * identity may subscribe there, so that no one keeps the object awake past their permission.
   * At each expiry the answer is asked again (as nsqd asks on the next SUB); refused, or no
   * longer allowing the channel, the connection closes (the client reconnects, as after a
   * restart, and is then served or refused by the Worker).
   */
  keepWhileAllowed(topic: string, channel: string) {
    const watch = (state: AuthState | null) => {
      if (this.closed || !this.auth.enabled || !state || !Number.isFinite(state.expires)) return;
      this.permissionTimer = setTimeout(() => void check(), Math.max(0, state.expires - Date.now()) + 1);
    };
    const check = async () => {
      const now = this.auth.state;
      // An AUTH since may have given a later expiry.
      if (now && !isExpired(now, Date.now())) return watch(now);
      const fresh = await this.ask(this.secret);
      if (this.closed) return;
      if (fresh === null || !isAllowed(fresh, topic, channel)) return this.close();
      watch(fresh);
    };
    watch(this.auth.state);
  }

  // ---- what the verbs ask (Client) -------------------------------------------------------

  now() {
    return Date.now();
  }

  authenticate(secret: string) {
    const slot = this.responses.reserve();
    this.held = [];
    this.ask(secret).then((state) => {
      const answer = authAnswer(state);
      if (answer instanceof ProtocolError) this.responses.fill(slot, errorFrame(answer.message), true);
      else {
        this.secret = secret;
        this.auth.authed = true;
        this.responses.fill(slot, answer);
      }
      this.flush();
      this.resume();
    });
  }

  private reauthenticate() {
    this.ask(this.secret).then((state) => {
      if (state === null) this.responses.add(errorFrame(AUTH_FAILED.message), true);
      this.flush();
      this.resume();
    });
  }

  /** The answer for a secret (kept as the connection's), or null when the ask failed (logged, never the secret). */
  private async ask(secret: string): Promise<AuthState | null> {
    const ip = hostOf(this.remoteAddress);
    try {
      const r = await authenticatorOf(this.env).authenticate(secret, ip);
      if ("state" in r) return (this.auth.state = r.state);
      console.warn(`PROTOCOL(V2): [${this.remoteAddress}] AUTH failed ${r.error}`);
    } catch (e) {
      console.error(`PROTOCOL(V2): [${this.remoteAddress}] AUTH failed: ${errorText(e)}`);
    }
    return null;
  }

  identified(settings: Settings) {
    this.settings = settings;
    this.heartbeats.start(settings.heartbeatInterval);
  }

  publish(verb: string, topic: string, deferMs: number, bodies: Uint8Array | Uint8Array[], key?: string, idempotencyKey?: string) {
    this.publisher.add(verb, topic, deferMs, bodies, this.responses.reserve(), key, idempotencyKey);
  }

  private published(pending: Pending<Slot>[], stored: boolean, error?: unknown, answer: PublishAnswer = null) {
    pending.forEach(({ slot, verb }, i) => {
      const refused = answer?.[i];
      // A full channel (overflow reject) refuses a publish, not the connection: the client may retry.
      if (refused) this.responses.fill(slot, errorFrame(`E_${refused} ${verb} failed: a channel of the topic is full`));
      else if (stored) this.responses.fill(slot, OK);
      else this.responses.fill(slot, errorFrame(`E_${verb}_FAILED ${verb} failed ${errorText(error)}`), true);
    });
    this.flush();
  }

  channel(cmd: LinkCommand) {
    if (this.shardLinks) this.shardLinks.command(cmd);
    else {
      if (cmd.op === "RDY") this.rdy = cmd.count;
      this.linkOut.push(cmd);
    }
  }

  subscribe(topic: string, channel: string) {
    const slot = this.responses.reserve();
    this.openLink(topic, channel).then(
      () => {
        this.responses.fill(slot, OK);
        this.flush();
      },
      (e) => {
        this.responses.fill(slot, errorFrame(`E_SUB_FAILED SUB failed ${errorText(e)}`), true);
        this.flush();
      },
    );
  }

  // ---- the link to the channel -----------------------------------------------------------

  private async openLink(topic: string, channel: string) {
    const info = clientInfo(this.settings, this.remoteAddress, Date.now(), this.auth.state);
    this.joined = { topic, channel, info };
    const n = await shardsOf(this.env, topic, true);
    if (n === 1) this.attach(await this.join(topic));
    else {
      // Shard 0 first: it registers the channel.
      const first = await this.join(topic);
      const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => this.join(shardName(topic, i + 1))));
      this.attachShards([first, ...rest]);
    }
    // Shards added to the topic later are joined too (POST /topic/shards).
    this.shardCheck = setInterval(() => void this.joinAddedShards(), SHARD_CHECK_MS);
  }

  /** The link to one shard's channel object (creating the channel there if needed). */
  private join(shard: string): Promise<WebSocket> {
    const { channel, info } = this.joined!;
    return joinWithRetry(async () => {
      await topicStub(this.env, shard).createChannel(shard, channel);
      if (this.local?.topic === shard && this.local.channel === channel) return this.local.join(info);
      return (await channelStub(this.env, shard, channel).fetch(linkRequest(info))).webSocket;
    }, sleep);
  }

  private async joinAddedShards() {
    if (this.closed || this.growing || !this.joined || (!this.link && !this.shardLinks)) return;
    const { topic } = this.joined;
    const have = this.shardLinks?.count ?? 1;
    this.growing = true;
    try {
      const n = await shardsOf(this.env, topic, true);
      if (n <= have || this.closed) return;
      const links = await Promise.all(Array.from({ length: n - have }, (_, i) => this.join(shardName(topic, have + i))));
      if (this.closed) {
        for (const l of links) l.close(1000, "client gone");
        return;
      }
      if (this.shardLinks) return this.shardLinks.add(links);
      // The single link becomes the first of several: what waits for it goes first, then its
      // sequence, RDY and in flight (asked of its channel) carry over.
      this.sendLink();
      const single = this.link!;
      this.shardLinks = new ShardLinks(links, this.settings.msgTimeout, (f) => this.respond(f), () => this.close(), Date.now, {
        ws: single,
        seq: this.linkSeq,
        rdy: this.rdy,
      });
      this.link = null;
    } catch (e) {
      console.error(`V2: joining the shards added to ${topic} failed: ${errorText(e)}`);
    } finally {
      this.growing = false;
    }
  }

  private attachShards(links: WebSocket[]) {
    if (this.closed) {
      for (const l of links) l.close(1000, "client gone");
      return;
    }
    this.shardLinks = new ShardLinks(
      links,
      this.settings.msgTimeout,
      (frames) => this.respond(frames),
      () => this.close(),
    );
    // Commands issued before the links opened (RDY after SUB in one read) go now.
    for (const cmd of this.linkOut.splice(0)) this.shardLinks.command(cmd);
    this.shardLinks.flush();
  }

  private attach(link: WebSocket) {
    link.binaryType = "arraybuffer";
    link.accept();
    if (this.closed) {
      link.close(1000, "client gone");
      return;
    }
    this.link = link;
    // Message frames and channel errors go to the client as they are (once the topic has gained
    // shards, through shardLinks, which takes this link over as its first).
    link.addEventListener("message", (e) => {
      const data = e.data as ArrayBuffer | string;
      if (this.shardLinks) return this.shardLinks.onLink(0, data);
      this.respond(typeof data === "string" ? encoder.encode(data) : new Uint8Array(data));
    });
    // The channel went away (deleted, or its object restarted): so does this client, as with nsqd.
    link.addEventListener("close", () => this.close());
    link.addEventListener("error", () => this.close());
    this.sendLink();
  }

  /** The channel commands waiting, in one link message; they wait on while the link is not open yet. */
  private sendLink() {
    if (this.shardLinks) return this.shardLinks.flush();
    if (!this.link || this.linkOut.length === 0) return;
    try {
      this.link.send(encodeLink(this.linkSeq++, this.linkOut));
    } catch {
      this.close();
    }
    this.linkOut.length = 0;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
