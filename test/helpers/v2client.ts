// A minimal V2 client over any WebSocket (workerd's or the `ws` package's), for tests: it
// writes commands with src/protocol/commands and reads frames with FrameReader.
import { FrameReader, FRAME_ERROR, FRAME_MESSAGE, FRAME_RESPONSE, decodeMessage, frameText, type Frame, type MessageFrame } from "../../src/protocol/frames";
import * as cmd from "../../src/protocol/commands";

export interface SocketLike {
  send(data: Uint8Array | ArrayBuffer | string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", fn: (e: { data: unknown }) => void): void;
  addEventListener(type: "close", fn: (e: { code: number }) => void): void;
}

export class TestClient {
  private reader = new FrameReader();
  private frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  closeCode: number | null = null;

  constructor(readonly ws: SocketLike) {
    ws.addEventListener("message", (e) => {
      const d = e.data;
      const bytes =
        typeof d === "string" ? new TextEncoder().encode(d)
        : d instanceof ArrayBuffer ? new Uint8Array(d)
        : new Uint8Array((d as Uint8Array).buffer, (d as Uint8Array).byteOffset, (d as Uint8Array).byteLength);
      this.frames.push(...this.reader.feed(bytes));
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = true;
      this.closeCode = e.code;
      // Answer the server's close as browsers and `ws` do on their own; in workerd it is ours to
      // send, and a close left unanswered is logged as "WebSocket peer disconnected".
      if (!this.closing) this.close();
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(...parts: Uint8Array[]) {
    this.ws.send(cmd.concatAll(parts));
  }

  /** The next frame that is not a heartbeat (heartbeats are answered with NOP). */
  async next(timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.frames.length) {
        const f = this.frames.shift()!;
        if (f.type === FRAME_RESPONSE && frameText(f) === "_heartbeat_") {
          if (!this.closed) this.send(cmd.nop());
          continue;
        }
        return f;
      }
      if (this.closed) throw new Error(`connection closed (${this.closeCode})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a frame");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves to null if nothing but heartbeats arrives within `ms`. */
  async maybeNext(ms: number): Promise<Frame | null> {
    try {
      return await this.next(ms);
    } catch (e) {
      if (String(e).includes("timed out")) return null;
      throw e;
    }
  }

  async response(timeoutMs?: number): Promise<string> {
    const f = await this.next(timeoutMs);
    if (f.type !== FRAME_RESPONSE) throw new Error(`expected a response, got type ${f.type}: ${frameText(f)}`);
    return frameText(f);
  }

  async error(timeoutMs?: number): Promise<string> {
    const f = await this.next(timeoutMs);
    if (f.type !== FRAME_ERROR) throw new Error(`expected an error, got type ${f.type}: ${frameText(f)}`);
    return frameText(f);
  }

  async message(timeoutMs?: number): Promise<MessageFrame> {
    const f = await this.next(timeoutMs);
    if (f.type !== FRAME_MESSAGE) throw new Error(`expected a message, got type ${f.type}: ${frameText(f)}`);
    return decodeMessage(f.data);
  }

  async messages(n: number, timeoutMs?: number): Promise<MessageFrame[]> {
    const out: MessageFrame[] = [];
    while (out.length < n) out.push(await this.message(timeoutMs));
    return out;
  }

  /** Waits for the server to close the connection. */
  async closedByServer(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** IDENTIFY (feature negotiation) + SUB + RDY, as a consumer starts. */
  async subscribe(topic: string, channel: string, rdy: number, identify: Record<string, unknown> = {}) {
    this.send(cmd.MAGIC_V2, cmd.identify({ feature_negotiation: true, ...identify }));
    await this.response();
    this.send(cmd.sub(topic, channel));
    const ok = await this.response();
    if (ok !== "OK") throw new Error(`SUB answered ${ok}`);
    if (rdy > 0) this.send(cmd.rdy(rdy));
  }

  private closing = false;

  close() {
    if (this.closing) return;
    this.closing = true;
    try {
      this.ws.close(1000, "done");
    } catch {
      // already closed
    }
  }
}

export const text = (m: MessageFrame) => new TextDecoder().decode(m.body);
export { cmd };
