// A session's links to a sharded topic's channel objects, one per shard (src/topic/shards.ts),
// behaving toward the client as the one link of an unsharded topic: the frames of every link go
// to the client as they come; RDY is spread over the links (./rdy-spread.ts, which holds the
// client to its RDY whatever the number of shards); FIN, REQ and TOUCH go to the link the
// message came from; CLS to all. The channel acknowledges each RDY it is sent here (the 'A'
// record of src/protocol/link.ts), which is what lets RDY move between links safely.
import { FRAME_MESSAGE } from "../protocol/frames";
import { encodeLink, readRdyAck, type LinkCommand } from "../protocol/link";
import { MAX_SHARDS, SHARD_DRAINED } from "../topic/shards";
import { RdySpread, type RdyCommand } from "./rdy-spread";

/** How often RDY 1 may move on and deadlines expire, while the spread needs it. */
const TICK_MS = 25;

/** The message ids in a link's byte stream, read across WebSocket messages (a frame may span them). */
export class FrameIds {
  /** Bytes of the current frame's head (size, type, ts, attempts, id) read so far. */
  private head = new Uint8Array(34);
  private have = 0;
  /** Bytes of the current frame still to skip once its head is read. */
  private skip = 0;

  /** The ids of the message frames that complete their head in `bytes`. */
  feed(bytes: Uint8Array, onId: (id: string) => void) {
    let at = 0;
    while (at < bytes.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, bytes.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      // The head: 4 size, 4 type, then (a message) 8 ts, 2 attempts, 16 id.
      const want = this.have < 8 ? 8 : 34;
      const n = Math.min(want - this.have, bytes.length - at);
      this.head.set(bytes.subarray(at, at + n), this.have);
      this.have += n;
      at += n;
      if (this.have < want) continue;
      const view = new DataView(this.head.buffer);
      const size = view.getUint32(0);
      const type = view.getUint32(4);
      if (type !== FRAME_MESSAGE || size < 30) {
        this.skip = size - 4;
        this.have = 0;
        continue;
      }
      if (this.have < 34) continue;
      onId(String.fromCharCode.apply(null, this.head.subarray(18, 34) as unknown as number[]));
      this.skip = size - 30;
      this.have = 0;
    }
  }
}

/** A connection's single link, taken over when its topic gains shards: its sequence and RDY so far. */
export interface Adopted {
  ws: WebSocket;
  seq: number;
  rdy: number;
}

export class ShardLinks {
  private readonly spread: RdySpread;
  private readonly links: WebSocket[] = [];
  private readonly outs: LinkCommand[][] = [];
  private readonly seqs: number[] = [];
  private readonly ids: FrameIds[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;
  /** Until link 0's channel has said what it has in flight (adopted), nothing moves. */
  private adopting = false;

  constructor(
    links: WebSocket[],
    private readonly msgTimeoutMs: number,
    /** Frames for the client. */
    private readonly deliver: (frames: Uint8Array) => void,
    /** A link failed or closed: the session goes too (as with one link). */
    private readonly fail: () => void,
    private readonly now: () => number = Date.now,
    adopted?: Adopted,
  ) {
    this.spread = new RdySpread(links.length + (adopted ? 1 : 0));
    if (adopted) {
      // Already open and listened to by the session: it hands its messages on here (see onLink).
      this.links.push(adopted.ws);
      this.outs.push([]);
      this.seqs.push(adopted.seq);
      this.ids.push(new FrameIds());
      // Its in flight is asked for: an acknowledged RDY (the same) answers it.
      this.spread.adopt(adopted.rdy, adopted.rdy);
      this.adopting = true;
      this.outs[0]!.push({ op: "RDY", count: adopted.rdy, ack: true });
    }
    this.add(links);
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** More links (the topic gained shards), holding nothing until the spread gives them RDY. */
  add(links: WebSocket[]) {
    for (const ws of links) {
      const i = this.links.length;
      this.links.push(ws);
      this.outs.push([]);
      this.seqs.push(0);
      this.ids.push(new FrameIds());
      ws.binaryType = "arraybuffer";
      ws.accept();
      ws.addEventListener("message", (e) => this.onLink(i, e.data as ArrayBuffer | string));
      ws.addEventListener("close", (e) => (e.code === SHARD_DRAINED ? this.retire(i) : this.lost(i)));
      // (A drained shard's close comes with an error event too: the close decides.)
      ws.addEventListener("error", () => setTimeout(() => this.lost(i), 50));
    }
    this.spread.grow(this.links.length);
    if (!this.adopting) this.queue(this.spread.tick(this.now()));
    this.flush();
  }

  get count(): number {
    return this.links.length;
  }

  /** A link message (the session passes on those of an adopted link). */
  onLink(i: number, data: ArrayBuffer | string) {
    if (this.closed) return;
    if (typeof data === "string") {
      const ack = readRdyAck(data);
      if (ack) {
        if (i === 0) this.adopting = false;
        this.queue(this.spread.acked(i, ack.count, this.now(), ack.inFlight));
      }
      this.flush();
      return;
    }
    const bytes = new Uint8Array(data);
    const now = this.now();
    this.ids[i]!.feed(bytes, (id) => this.spread.delivered(i, id, now, now + this.msgTimeoutMs));
    this.deliver(bytes);
  }

  private lost(i: number) {
    if (this.closed || this.spread.retired(i)) return;
    this.spread.closed(i);
    this.fail();
  }

  /** A drained shard went: its link is dropped and holds no RDY; the others go on. */
  private retire(i: number) {
    if (this.closed) return;
    this.spread.retire(i);
    this.queue(this.spread.tick(this.now()));
    this.flush();
  }

  private tick() {
    if (this.closed || this.adopting) return;
    this.queue(this.spread.tick(this.now()));
    this.flush();
  }

  private queue(rdy: RdyCommand[]) {
    for (const r of rdy) this.outs[r.link]!.push({ op: "RDY", count: r.count, ack: true });
  }

  /** The link a message id came from (or, if not known here, the shard its id names). */
  private linkOf(id: string): number {
    const known = this.spread.linkOf(id);
    if (known >= 0) return known;
    const shard = Number.parseInt(id, 16) % MAX_SHARDS;
    return Number.isFinite(shard) && shard < this.links.length ? shard : 0;
  }

  /** A channel command the session has checked. */
  command(cmd: LinkCommand) {
    const now = this.now();
    switch (cmd.op) {
      case "RDY":
        if (this.adopting) {
          // Before link 0's in flight is known: held back, as the ack will plan again.
          this.spread.setReadyLater(cmd.count);
          return;
        }
        this.queue(this.spread.setReady(cmd.count, now));
        return;
      case "CLS":
        for (const out of this.outs) out.push(cmd);
        return;
      case "TOUCH":
        this.outs[this.linkOf(cmd.id)]!.push(cmd);
        this.spread.touched(cmd.id, now + this.msgTimeoutMs);
        return;
      default: {
        const link = this.linkOf(cmd.id);
        const r = this.spread.finished(cmd.id, now);
        this.outs[link]!.push(cmd);
        this.queue(r.rdy);
      }
    }
  }

  /** Sends what waits, one link message per link. */
  flush() {
    if (this.closed) return;
    this.outs.forEach((out, i) => {
      if (out.length === 0) return;
      if (this.spread.retired(i)) {
        out.length = 0;
        return;
      }
      try {
        this.links[i]!.send(encodeLink(this.seqs[i]!++, out));
      } catch {
        this.fail();
      }
      out.length = 0;
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const ws of this.links) {
      try {
        ws.close(1000, "client gone");
      } catch {
        // already closed
      }
    }
  }
}
