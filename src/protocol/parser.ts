// Push parser for the client-to-server V2 byte stream (what nsqd reads on its TCP port).
//
//   "  V2"                                  4-byte magic, once, first
//   <NAME> <param> <param>\n                a command line (\r\n accepted)
//   [ 4-byte signed size ][ size bytes ]    the body, only after IDENTIFY, AUTH, PUB, MPUB, DPUB
//
// feed() takes any chunk of the stream and returns the commands it completes; it resumes
// mid-line or mid-body on the next chunk. It never touches a socket.
//
// nsqd checks a body command's line (state, parameters, names, delays) before it reads the size,
// so it answers a bad line at once even when no body ever follows. When a chunk ends between a
// body command's line and the end of its body, feed() returns the line alone as a head
// (`head: true`, no body) for the session to check; the whole command follows on a later feed().

import { concatAll } from "./commands";

export interface Command {
  name: string;
  params: string[];
  /** The declared body size of a body command (a signed 32-bit integer, as nsqd reads it). */
  bodyLen?: number;
  /** The body, when bodyLen was within 1..limit; absent otherwise (the session then fails). */
  body?: Uint8Array;
  /** The line of a body command whose body has not arrived yet: check it, expect the rest later. */
  head?: true;
}

export interface ParserLimits {
  maxMsgSize: number;
  maxBodySize: number;
}

/** nsqd reads lines through a 16 KiB bufio.Reader and drops the connection on longer ones. */
export const MAX_LINE = 16 * 1024;

const MAGIC = "  V2";

export class ParseError extends Error {
  /** The commands completed before the error in the same feed(): nsqd runs them before it drops the client. */
  commands: Command[] = [];
}

export class BadMagicError extends ParseError {}

/** The largest body each body command may declare before nsqd refuses it unread. */
export function bodyLimit(name: string, limits: ParserLimits): number | undefined {
  switch (name) {
    case "PUB":
    case "DPUB":
      return limits.maxMsgSize;
    case "MPUB":
    case "IDENTIFY":
    case "AUTH":
      return limits.maxBodySize;
    default:
      return undefined;
  }
}

const decoder = new TextDecoder();

type State =
  | { at: "magic" }
  | { at: "line" }
  | { at: "length"; name: string; params: string[]; limit: number; headSent?: boolean }
  | { at: "body"; name: string; params: string[]; size: number; headSent?: boolean }
  | { at: "done" };

export class V2Parser {
  private state: State;
  private pending: Uint8Array[] = [];
  private pendingLength = 0;

  constructor(
    private readonly limits: ParserLimits,
    options: { magic?: boolean } = {},
  ) {
    this.state = options.magic === false ? { at: "line" } : { at: "magic" };
  }

  /** Bytes received but not yet part of a whole command. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** True when `chunk` cannot complete what the pending bytes started. */
  private stillWaiting(chunk: Uint8Array): boolean {
    const s = this.state;
    const total = this.pendingLength + chunk.length;
    if (s.at === "body") return total < s.size;
    if (s.at === "line") return chunk.indexOf(10) < 0 && total < MAX_LINE;
    return false;
  }

  feed(chunk: Uint8Array): Command[] {
    const out: Command[] = [];
    if (this.pendingLength && this.stillWaiting(chunk)) {
      // Large bodies arrive in many chunks: gather them and join once, not once per chunk.
      // Copied, as below: the caller may reuse its chunk buffer.
      this.pending.push(chunk.slice());
      this.pendingLength += chunk.length;
      return out;
    }
    let buf = chunk;
    if (this.pendingLength) {
      this.pending.push(chunk);
      buf = concatAll(this.pending);
      this.pending = [];
      this.pendingLength = 0;
    }
    let pos = 0;
    while (pos < buf.length) {
      const s = this.state;
      if (s.at === "done") return out;
      if (s.at === "magic") {
        if (buf.length - pos < 4) break;
        const magic = decoder.decode(buf.subarray(pos, pos + 4));
        if (magic !== MAGIC) {
          this.state = { at: "done" };
          throw new BadMagicError(`bad protocol magic '${magic}'`);
        }
        pos += 4;
        this.state = { at: "line" };
      } else if (s.at === "line") {
        const nl = buf.indexOf(10, pos);
        // A line, "\n" included, must fit in MAX_LINE, wherever the chunks were cut.
        if (nl < 0 ? buf.length - pos >= MAX_LINE : nl + 1 - pos > MAX_LINE) {
          this.state = { at: "done" };
          throw Object.assign(new ParseError("command line too long"), { commands: out });
        }
        if (nl < 0) break;
        let end = nl;
        if (end > pos && buf[end - 1] === 13) end--;
        const parts = lineParts(buf, pos, end);
        pos = nl + 1;
        const name = parts[0];
        const params = parts.slice(1);
        const limit = bodyLimit(name, this.limits);
        if (limit === undefined) out.push({ name, params });
        else this.state = { at: "length", name, params, limit };
      } else if (s.at === "length") {
        if (buf.length - pos < 4) break;
        const size = new DataView(buf.buffer, buf.byteOffset + pos, 4).getInt32(0);
        pos += 4;
        if (size <= 0 || size > s.limit) {
          // nsqd refuses the body unread and closes: nothing after it is parsed.
          out.push({ name: s.name, params: s.params, bodyLen: size });
          this.state = { at: "done" };
          return out;
        }
        this.state = { at: "body", name: s.name, params: s.params, size, headSent: s.headSent };
      } else {
        if (buf.length - pos < s.size) break;
        out.push({ name: s.name, params: s.params, bodyLen: s.size, body: buf.subarray(pos, pos + s.size) });
        pos += s.size;
        this.state = { at: "line" };
      }
    }
    const s = this.state;
    if ((s.at === "length" || s.at === "body") && !s.headSent) {
      s.headSent = true;
      out.push({ name: s.name, params: s.params, head: true });
    }
    if (pos < buf.length) {
      // Keep a copy: the caller may reuse its chunk buffer.
      const rest = buf.slice(pos);
      this.pending.push(rest);
      this.pendingLength = rest.length;
    }
    return out;
  }
}

/**
 * A command line split on single spaces, as nsqd's bytes.Split. Short ASCII lines (FIN, RDY,
 * PUB ...), nearly all of them, are cut from the bytes without a TextDecoder call or a split.
 */
function lineParts(buf: Uint8Array, start: number, end: number): string[] {
  if (end - start > 64) return decoder.decode(buf.subarray(start, end)).split(" ");
  const parts: string[] = [];
  let from = start;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b > 0x7f) return decoder.decode(buf.subarray(start, end)).split(" ");
    if (b === 32) {
      parts.push(ascii(buf, from, i));
      from = i + 1;
    }
  }
  parts.push(ascii(buf, from, end));
  return parts;
}

function ascii(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}
