// The push parsers of the V2 byte stream: V2Parser (client to server, what a session reads) and
// FrameReader (server to client, what a client reads). Both must give the same result however
// the stream is cut into chunks, since WebSocket messages (like TCP reads) may split anywhere.
import { describe, expect, it } from "vitest";
import { BadMagicError, type Command, MAX_LINE, ParseError, V2Parser } from "../../src/protocol/parser";
import {
  decodeMessage,
  errorFrame,
  FRAME_ERROR,
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  FrameReader,
  type Frame,
  frameText,
  MESSAGE_HEADER_SIZE,
  messageFrameSize,
  responseFrame,
  writeMessageFrame,
} from "../../src/protocol/frames";
import * as cmd from "../../src/protocol/commands";
import { decodeMpubBody } from "../../src/protocol/mpub";
import { ProtocolError } from "../../src/protocol/errors";

const LIMITS = { maxMsgSize: 1024 * 1024, maxBodySize: 5 * 1024 * 1024 };
const enc = new TextEncoder();
const dec = new TextDecoder();
const ID = "0123456789abcdef";

/** A body size as the wire carries it: 4 bytes, big-endian, signed. */
function size(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n);
  return out;
}

const raw = (s: string) => enc.encode(s);

/** Comparable form of parsed commands (bodies as text; they are all text below, or as bytes). */
function plain(cmds: Command[]) {
  return cmds.map((c) => ({
    name: c.name,
    params: c.params,
    bodyLen: c.bodyLen,
    body: c.body === undefined ? undefined : Array.from(c.body),
  }));
}

/** Feeds `chunks` in order and collects every command. */
function parseChunks(chunks: Uint8Array[], options?: { magic?: boolean }): Command[] {
  const p = new V2Parser(LIMITS, options);
  const out: Command[] = [];
  for (const c of chunks) out.push(...p.feed(c).filter((c) => !c.head));
  return out;
}

function splitAt(stream: Uint8Array, offsets: number[]): Uint8Array[] {
  const cuts = [0, ...offsets, stream.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) out.push(stream.slice(cuts[i], cuts[i + 1]));
  return out;
}

/** A small deterministic PRNG (mulberry32), so a failing split can be reproduced. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A session's whole life in one stream: every verb, bodies that contain "\n" and "\r\n" and
// spaces, a binary body with zero bytes, and some lines ending in "\r\n".
const binaryBody = new Uint8Array([0, 1, 2, 10, 13, 10, 255, 0, 32]);
const STREAM = cmd.concatAll([
  cmd.MAGIC_V2,
  cmd.identify({ client_id: "c1", hostname: "h.local", feature_negotiation: true, heartbeat_interval: 5000 }),
  raw("SUB topic-a ch#ephemeral\r\n"),
  cmd.rdy(100),
  cmd.pub("topic-a", "hello\nworld"),
  raw("PUB topic-b\r\n"), size(binaryBody.length), binaryBody,
  cmd.mpub("topic-c", ["m1", "second\r\nmessage", "m 3"]),
  cmd.dpub("topic-a", 1500, "later"),
  cmd.fin(ID),
  raw(`REQ ${ID} 2000\r\n`),
  cmd.touch(ID),
  cmd.nop(),
  raw("NOP\r\n"),
  cmd.auth("s3cret"),
  cmd.cls(),
]);

const EXPECTED: Command[] = [
  {
    name: "IDENTIFY",
    params: [],
    bodyLen: JSON.stringify({ client_id: "c1", hostname: "h.local", feature_negotiation: true, heartbeat_interval: 5000 }).length,
    body: enc.encode(JSON.stringify({ client_id: "c1", hostname: "h.local", feature_negotiation: true, heartbeat_interval: 5000 })),
  },
  { name: "SUB", params: ["topic-a", "ch#ephemeral"] },
  { name: "RDY", params: ["100"] },
  { name: "PUB", params: ["topic-a"], bodyLen: 11, body: enc.encode("hello\nworld") },
  { name: "PUB", params: ["topic-b"], bodyLen: binaryBody.length, body: binaryBody },
  {
    name: "MPUB",
    params: ["topic-c"],
    bodyLen: cmd.encodeMpubBody(["m1", "second\r\nmessage", "m 3"].map((s) => enc.encode(s))).length,
    body: cmd.encodeMpubBody(["m1", "second\r\nmessage", "m 3"].map((s) => enc.encode(s))),
  },
  { name: "DPUB", params: ["topic-a", "1500"], bodyLen: 5, body: enc.encode("later") },
  { name: "FIN", params: [ID] },
  { name: "REQ", params: [ID, "2000"] },
  { name: "TOUCH", params: [ID] },
  { name: "NOP", params: [] },
  { name: "NOP", params: [] },
  { name: "AUTH", params: [], bodyLen: 6, body: enc.encode("s3cret") },
  { name: "CLS", params: [] },
];

describe("V2Parser", () => {
  it("parses a whole stream of every command in one chunk", () => {
    expect(plain(parseChunks([STREAM]))).toEqual(plain(EXPECTED));
  });

  it("gives the same commands fed one byte at a time", () => {
    const chunks = Array.from({ length: STREAM.length }, (_, i) => STREAM.slice(i, i + 1));
    expect(plain(parseChunks(chunks))).toEqual(plain(EXPECTED));
  });

  it("gives the same commands split into two chunks at every offset", () => {
    const want = plain(EXPECTED);
    for (let at = 0; at <= STREAM.length; at++) {
      const got = plain(parseChunks(splitAt(STREAM, [at])));
      if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, `split at ${at}`).toEqual(want);
    }
  });

  it("gives the same commands split into random chunks", () => {
    const want = JSON.stringify(plain(EXPECTED));
    const random = rng(42);
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(random() * 12);
      const offsets = Array.from({ length: n }, () => Math.floor(random() * (STREAM.length + 1))).sort((a, b) => a - b);
      const got = JSON.stringify(plain(parseChunks(splitAt(STREAM, offsets))));
      if (got !== want) expect(got, `split at ${offsets.join(",")}`).toBe(want);
    }
  });

  it("hands over a body command's line on its own when its body is still to come, once, in order", () => {
    const p = new V2Parser(LIMITS);
    const whole = cmd.concatAll([cmd.MAGIC_V2, cmd.nop(), cmd.pub("t", "abcdef"), cmd.nop()]);
    const line = 4 + "NOP\n".length + "PUB t\n".length;
    const names = (cs: Command[]) => cs.map((c) => `${c.name}${c.head ? "(head)" : ""}`);
    expect(names(p.feed(whole.subarray(0, line)))).toEqual(["NOP", "PUB(head)"]);
    expect(names(p.feed(whole.subarray(line, line + 2)))).toEqual([]);
    expect(names(p.feed(whole.subarray(line + 2, line + 6)))).toEqual([]);
    expect(names(p.feed(whole.subarray(line + 6)))).toEqual(["PUB", "NOP"]);
    // Whole in one chunk: no head.
    expect(names(new V2Parser(LIMITS).feed(whole))).toEqual(["NOP", "PUB", "NOP"]);
  });

  it("returns bodies that survive the caller reusing its chunk buffer", () => {
    // One buffer, refilled for every chunk, as a socket reader may do.
    const p = new V2Parser(LIMITS);
    const buf = new Uint8Array(7);
    const out: Command[] = [];
    for (let at = 0; at < STREAM.length; at += buf.length) {
      const n = Math.min(buf.length, STREAM.length - at);
      buf.set(STREAM.subarray(at, at + n));
      for (const c of p.feed(buf.subarray(0, n))) {
        if (!c.head) out.push({ ...c, body: c.body && c.body.slice() });
      }
    }
    expect(plain(out)).toEqual(plain(EXPECTED));
  });

  it("reports what it holds in `buffered` and completes a body on a later chunk", () => {
    const p = new V2Parser(LIMITS);
    const whole = cmd.concatAll([cmd.MAGIC_V2, cmd.pub("t", "abcdef")]);
    // magic + "PUB t\n" + size + "abc"
    const cut = whole.length - 3;
    expect(p.feed(whole.subarray(0, cut))).toEqual([{ name: "PUB", params: ["t"], head: true }]);
    expect(p.buffered).toBe(3);
    const [c] = p.feed(whole.subarray(cut));
    expect(c.name).toBe("PUB");
    expect(dec.decode(c.body)).toBe("abcdef");
    expect(p.buffered).toBe(0);
  });

  it("keeps a trailing space, empty params and a lone \\r as nsqd's bytes.Split does", () => {
    const cmds = parseChunks([raw("  V2SUB  a b\nRDY \n\nNOP\r\r\n")]);
    expect(plain(cmds)).toEqual(
      plain([
        { name: "SUB", params: ["", "a", "b"] },
        { name: "RDY", params: [""] },
        { name: "", params: [] },
        // Only one "\r" is trimmed.
        { name: "NOP\r", params: [] },
      ]),
    );
  });

  it("can start without the magic (as the channel object reads its link)", () => {
    expect(plain(parseChunks([raw("RDY 5\nFIN " + ID + "\n")], { magic: false }))).toEqual(
      plain([
        { name: "RDY", params: ["5"] },
        { name: "FIN", params: [ID] },
      ]),
    );
  });

  describe("bad magic", () => {
    for (const magic of ["  V1", "V2  ", "GET ", "\0\0\0\0", "  v2"]) {
      it(`throws BadMagicError for ${JSON.stringify(magic)}`, () => {
        const p = new V2Parser(LIMITS);
        expect(() => p.feed(raw(magic + "NOP\n"))).toThrow(BadMagicError);
        // Nothing after it is parsed.
        expect(p.feed(raw("NOP\n"))).toEqual([]);
      });
    }

    it("throws once the fourth byte arrives, not before", () => {
      const p = new V2Parser(LIMITS);
      expect(p.feed(raw("  "))).toEqual([]);
      expect(p.feed(raw("V"))).toEqual([]);
      expect(() => p.feed(raw("3"))).toThrow(BadMagicError);
    });

    it("is a ParseError", () => {
      expect(() => new V2Parser(LIMITS).feed(raw("XXXX"))).toThrow(ParseError);
    });
  });

  describe("line length (nsqd reads lines through a 16 KiB buffer)", () => {
    const long = (n: number) => raw("X".repeat(n));

    it("accepts a line of exactly MAX_LINE bytes including its newline", () => {
      const line = cmd.concatAll([raw("NOP "), long(MAX_LINE - 5), raw("\n")]);
      expect(line.length).toBe(MAX_LINE);
      const cmds = parseChunks([cmd.MAGIC_V2, line, cmd.nop()]);
      expect(cmds.map((c) => c.name)).toEqual(["NOP", "NOP"]);
    });

    it("throws for an overlong line without a newline", () => {
      const p = new V2Parser(LIMITS);
      expect(() => p.feed(cmd.concatAll([cmd.MAGIC_V2, long(MAX_LINE + 1)]))).toThrow(ParseError);
    });

    it("throws for an overlong line fed one small chunk at a time", () => {
      const p = new V2Parser(LIMITS);
      p.feed(cmd.MAGIC_V2);
      let threw = false;
      for (let i = 0; i < MAX_LINE + 1 && !threw; i += 100) {
        try {
          p.feed(long(100));
        } catch (e) {
          expect(e).toBeInstanceOf(ParseError);
          expect(e).not.toBeInstanceOf(BadMagicError);
          threw = true;
        }
      }
      expect(threw).toBe(true);
    });

    it("throws for an overlong line even when its newline is in the same chunk", () => {
      // The outcome must not depend on how the stream was chunked.
      const p = new V2Parser(LIMITS);
      expect(() => p.feed(cmd.concatAll([cmd.MAGIC_V2, long(MAX_LINE + 10), raw("\nNOP\n")]))).toThrow(ParseError);
    });

    it("hands over the commands completed before an overlong line with the error", () => {
      const p = new V2Parser(LIMITS);
      let err: unknown;
      try {
        p.feed(cmd.concatAll([cmd.MAGIC_V2, cmd.pub("t", "x"), cmd.nop(), long(MAX_LINE + 1)]));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ParseError);
      expect((err as ParseError).commands.map((c) => c.name)).toEqual(["PUB", "NOP"]);
    });
  });

  describe("declared body sizes out of range", () => {
    const cases: [string, Uint8Array, number][] = [
      ["PUB size 0", cmd.concatAll([raw("PUB t\n"), size(0)]), 0],
      ["PUB size -1", cmd.concatAll([raw("PUB t\n"), size(-1)]), -1],
      ["PUB size max+1", cmd.concatAll([raw("PUB t\n"), size(LIMITS.maxMsgSize + 1)]), LIMITS.maxMsgSize + 1],
      ["DPUB size max+1", cmd.concatAll([raw("DPUB t 10\n"), size(LIMITS.maxMsgSize + 1)]), LIMITS.maxMsgSize + 1],
      ["MPUB size 0", cmd.concatAll([raw("MPUB t\n"), size(0)]), 0],
      ["MPUB size body max+1", cmd.concatAll([raw("MPUB t\n"), size(LIMITS.maxBodySize + 1)]), LIMITS.maxBodySize + 1],
      ["IDENTIFY size -5", cmd.concatAll([raw("IDENTIFY\n"), size(-5)]), -5],
      ["AUTH size body max+1", cmd.concatAll([raw("AUTH\n"), size(LIMITS.maxBodySize + 1)]), LIMITS.maxBodySize + 1],
    ];
    for (const [what, bytes, len] of cases) {
      it(`${what}: yields the command with bodyLen and no body, then stops`, () => {
        const stream = cmd.concatAll([cmd.MAGIC_V2, cmd.nop(), bytes, cmd.nop(), cmd.pub("t", "after")]);
        for (const chunks of [[stream], Array.from(stream, (b) => new Uint8Array([b]))]) {
          const p = new V2Parser(LIMITS);
          const out: Command[] = [];
          for (const c of chunks) out.push(...p.feed(c).filter((c) => !c.head));
          expect(out).toHaveLength(2);
          expect(out[0].name).toBe("NOP");
          expect(out[1].bodyLen).toBe(len);
          expect(out[1].body).toBeUndefined();
          expect(p.feed(cmd.nop())).toEqual([]);
        }
      });
    }

    it("accepts bodies of exactly the limits", () => {
      const big = new Uint8Array(LIMITS.maxMsgSize).fill(97);
      const [c] = parseChunks([cmd.MAGIC_V2, cmd.pub("t", big)]);
      expect(c.bodyLen).toBe(LIMITS.maxMsgSize);
      expect(c.body!.length).toBe(LIMITS.maxMsgSize);
      // DPUB shares the message limit; MPUB, IDENTIFY and AUTH have the body limit.
      const [d] = parseChunks([cmd.MAGIC_V2, cmd.dpub("t", 10, big)]);
      expect([d.name, d.body?.length]).toEqual(["DPUB", LIMITS.maxMsgSize]);
      const body = new Uint8Array(LIMITS.maxBodySize);
      for (const name of ["MPUB t", "IDENTIFY", "AUTH"]) {
        const [b] = parseChunks([cmd.MAGIC_V2, raw(name + "\n"), size(LIMITS.maxBodySize), body]);
        expect(b.body?.length, name).toBe(LIMITS.maxBodySize);
      }
    });

    it("applies the message limit to PUB/DPUB and the body limit to MPUB/IDENTIFY/AUTH", () => {
      const n = LIMITS.maxMsgSize + 1;
      const body = new Uint8Array(n);
      for (const name of ["MPUB t", "IDENTIFY", "AUTH"]) {
        const [c] = parseChunks([cmd.MAGIC_V2, raw(name + "\n"), size(n), body]);
        expect(c.body?.length, name).toBe(n);
      }
    });
  });
});

describe("decodeMpubBody (nsqd's readMPUB)", () => {
  const MAX_MSG = 10;
  const MAX_BODY = 100; // at most (100 - 4) / 5 = 19 messages
  const bytes = (...parts: (number[] | Uint8Array)[]) => cmd.concatAll(parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p))));

  function error(body: Uint8Array): ProtocolError {
    try {
      decodeMpubBody(body, MAX_MSG, MAX_BODY);
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      return e as ProtocolError;
    }
    throw new Error("decodeMpubBody accepted the body");
  }

  it("decodes the messages and ignores bytes after the last one", () => {
    const body = cmd.concatAll([cmd.encodeMpubBody([raw("a"), raw("bc"), new Uint8Array([0, 10])]), raw("trailing")]);
    expect(decodeMpubBody(body, MAX_MSG, MAX_BODY).map((b) => Array.from(b))).toEqual([[97], [98, 99], [0, 10]]);
  });

  it("accepts a message of exactly the message limit and the largest count", () => {
    expect(decodeMpubBody(cmd.encodeMpubBody([new Uint8Array(MAX_MSG)]), MAX_MSG, MAX_BODY)[0].length).toBe(MAX_MSG);
    const many = Array.from({ length: 19 }, () => raw("x"));
    expect(decodeMpubBody(cmd.encodeMpubBody(many), MAX_MSG, MAX_BODY)).toHaveLength(19);
  });

  const cases: [string, Uint8Array, string][] = [
    ["empty", bytes([]), "E_BAD_BODY MPUB failed to read message count"],
    ["3 bytes", bytes([0, 0, 1]), "E_BAD_BODY MPUB failed to read message count"],
    ["count 0", bytes(size(0)), "E_BAD_BODY MPUB invalid message count 0"],
    ["count -1 (0xffffffff)", bytes([255, 255, 255, 255]), "E_BAD_BODY MPUB invalid message count -1"],
    ["count above (max body - 4) / 5", bytes(size(20)), "E_BAD_BODY MPUB invalid message count 20"],
    ["no size for message 0", bytes(size(1)), "E_BAD_MESSAGE MPUB failed to read message(0) body size"],
    ["short size for message 1", bytes(size(2), size(1), raw("a"), [0, 0]), "E_BAD_MESSAGE MPUB failed to read message(1) body size"],
    ["size 0", bytes(size(2), size(1), raw("a"), size(0)), "E_BAD_MESSAGE MPUB invalid message(1) body size 0"],
    ["size -2", bytes(size(1), size(-2)), "E_BAD_MESSAGE MPUB invalid message(0) body size -2"],
    ["size over the message limit", bytes(size(1), size(11), new Uint8Array(11)), "E_BAD_MESSAGE MPUB message too big 11 > 10"],
    ["short body", bytes(size(1), size(5), raw("abc")), "E_BAD_MESSAGE MPUB failed to read message body"],
    ["second body short", bytes(size(2), size(1), raw("a"), size(2), raw("b")), "E_BAD_MESSAGE MPUB failed to read message body"],
  ];
  for (const [what, body, message] of cases) {
    it(`${what} → ${message}`, () => {
      const e = error(body);
      expect(e.message).toBe(message);
      expect(`${e.code} ${e.description}`).toBe(message);
      expect(e.fatal).toBe(true);
    });
  }

  it("uses nsqd's count limit for the default body size (1048575 messages)", () => {
    expect(() => decodeMpubBody(size(1048576), 1024 * 1024, 5 * 1024 * 1024)).toThrow("MPUB invalid message count 1048576");
    // 1048575 passes the count check and fails on the first missing size.
    expect(() => decodeMpubBody(size(1048575), 1024 * 1024, 5 * 1024 * 1024)).toThrow("MPUB failed to read message(0) body size");
  });
});

describe("FrameReader", () => {
  const body = new Uint8Array([104, 105, 0, 10, 255]);
  const msg = new Uint8Array(messageFrameSize(body));
  writeMessageFrame(msg, 0, 1_700_000_000_123, 3, ID, body);
  const STREAM_OUT = cmd.concatAll([
    responseFrame("OK"),
    responseFrame(""),
    errorFrame("E_INVALID invalid command FOO"),
    msg,
    responseFrame("_heartbeat_"),
    responseFrame('{"max_rdy_count":2500}'),
  ]);
  const show = (frames: Frame[]) => frames.map((f) => ({ type: f.type, data: Array.from(f.data) }));
  const WANT = show([
    { type: FRAME_RESPONSE, data: raw("OK") },
    { type: FRAME_RESPONSE, data: raw("") },
    { type: FRAME_ERROR, data: raw("E_INVALID invalid command FOO") },
    { type: FRAME_MESSAGE, data: msg.subarray(8) },
    { type: FRAME_RESPONSE, data: raw("_heartbeat_") },
    { type: FRAME_RESPONSE, data: raw('{"max_rdy_count":2500}') },
  ]);

  it("reads a stream of frames in one chunk", () => {
    expect(show(new FrameReader().feed(STREAM_OUT))).toEqual(WANT);
  });

  it("gives the same frames split at every offset", () => {
    for (let at = 0; at <= STREAM_OUT.length; at++) {
      const r = new FrameReader();
      const got = show([...r.feed(STREAM_OUT.slice(0, at)), ...r.feed(STREAM_OUT.slice(at))]);
      if (JSON.stringify(got) !== JSON.stringify(WANT)) expect(got, `split at ${at}`).toEqual(WANT);
    }
  });

  it("gives the same frames fed one byte at a time", () => {
    const r = new FrameReader();
    const got: Frame[] = [];
    for (const b of STREAM_OUT) got.push(...r.feed(new Uint8Array([b])));
    expect(show(got)).toEqual(WANT);
  });

  it("returns frames that survive the caller reusing its chunk buffer", () => {
    const r = new FrameReader();
    const buf = new Uint8Array(5);
    const got: Frame[] = [];
    for (let at = 0; at < STREAM_OUT.length; at += buf.length) {
      const n = Math.min(buf.length, STREAM_OUT.length - at);
      buf.set(STREAM_OUT.subarray(at, at + n));
      for (const f of r.feed(buf.subarray(0, n))) got.push({ type: f.type, data: f.data.slice() });
    }
    expect(show(got)).toEqual(WANT);
  });

  it("frames text with a 4-byte size that counts the type", () => {
    const f = errorFrame("E_X");
    expect(Array.from(f.subarray(0, 8))).toEqual([0, 0, 0, 7, 0, 0, 0, 1]);
    expect(frameText({ type: FRAME_ERROR, data: f.subarray(8) })).toBe("E_X");
  });
});

describe("message frames", () => {
  it("round-trips timestamp (ns), attempts, id and body", () => {
    const body = enc.encode("payload with\nnewline");
    const out = new Uint8Array(messageFrameSize(body));
    const end = writeMessageFrame(out, 0, 1_712_345_678_901, 7, "00000000deadbeef", body);
    expect(end).toBe(out.length);
    expect(out.length).toBe(8 + MESSAGE_HEADER_SIZE + body.length);
    const [f] = new FrameReader().feed(out);
    expect(f.type).toBe(FRAME_MESSAGE);
    const m = decodeMessage(f.data);
    expect(m.timestamp).toBe(1_712_345_678_901n * 1_000_000n);
    expect(m.attempts).toBe(7);
    expect(m.id).toBe("00000000deadbeef");
    expect(m.id).toHaveLength(16);
    expect(dec.decode(m.body)).toBe("payload with\nnewline");
  });

  it("lays the header out as nsqd's Message.WriteTo", () => {
    const out = new Uint8Array(messageFrameSize(raw("x")));
    writeMessageFrame(out, 0, 1, 258, "abcdefghijklmnop", raw("x"));
    const v = new DataView(out.buffer);
    expect(v.getUint32(0)).toBe(4 + 26 + 1);
    expect(v.getUint32(4)).toBe(FRAME_MESSAGE);
    expect(v.getBigUint64(8)).toBe(1_000_000n);
    expect(v.getUint16(16)).toBe(258);
    expect(dec.decode(out.subarray(18, 34))).toBe("abcdefghijklmnop");
    expect(out[34]).toBe(120);
  });

  it("writes several frames back to back into one buffer, also at a byteOffset", () => {
    const bodies = [raw("one"), new Uint8Array(0), raw("three")];
    const total = bodies.reduce((n, b) => n + messageFrameSize(b), 0);
    const backing = new Uint8Array(total + 16);
    const out = backing.subarray(16); // a view that does not start at 0
    let at = 0;
    bodies.forEach((b, i) => (at = writeMessageFrame(out, at, 1000 + i, i + 1, `${i}`.padStart(16, "0"), b)));
    expect(at).toBe(total);
    const msgs = new FrameReader().feed(out).map((f) => decodeMessage(f.data));
    expect(msgs.map((m) => [m.timestamp, m.attempts, m.id, dec.decode(m.body)])).toEqual([
      [1000n * 1_000_000n, 1, "0000000000000000", "one"],
      [1001n * 1_000_000n, 2, "0000000000000001", ""],
      [1002n * 1_000_000n, 3, "0000000000000002", "three"],
    ]);
    expect(Array.from(backing.subarray(0, 16))).toEqual(new Array(16).fill(0));
  });

  it("caps attempts at 65535 (a uint16)", () => {
    const out = new Uint8Array(messageFrameSize(raw("x")));
    writeMessageFrame(out, 0, 0, 70000, ID, raw("x"));
    expect(decodeMessage(new FrameReader().feed(out)[0].data).attempts).toBe(65535);
  });

  it("round-trips a 1 MiB body", () => {
    const body = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const out = new Uint8Array(messageFrameSize(body));
    writeMessageFrame(out, 0, Date.now(), 1, ID, body);
    const m = decodeMessage(new FrameReader().feed(out)[0].data);
    expect(m.body.length).toBe(body.length);
    expect(m.body.every((b, i) => b === i % 251)).toBe(true);
  });
});
