// The session-to-channel link records (src/protocol/link.ts).
import { describe, expect, it } from "vitest";
import { decodeLink, encodeLink, idText, idValue, linkSeq, type LinkCommand } from "../../src/protocol/link";
import { hexId } from "../../src/message";

function decode(bytes: Uint8Array): LinkCommand[] {
  const out: LinkCommand[] = [];
  decodeLink(bytes.subarray(4), {
    rdy: (count) => out.push({ op: "RDY", count }),
    fin: (b, at) => out.push({ op: "FIN", id: idText(b, at) }),
    req: (b, at, delayMs) => out.push({ op: "REQ", id: idText(b, at), delayMs }),
    touch: (b, at) => out.push({ op: "TOUCH", id: idText(b, at) }),
    cls: () => out.push({ op: "CLS" }),
  });
  return out;
}

describe("link records", () => {
  it("round-trip every command with the sequence number", () => {
    const cmds: LinkCommand[] = [
      { op: "RDY", count: 2500 },
      { op: "FIN", id: "0006610a2b3c4d5e" },
      { op: "REQ", id: "0006610a2b3c4d5f", delayMs: 3_600_000 },
      { op: "TOUCH", id: "0006610a2b3c4d60" },
      { op: "CLS" },
    ];
    const bytes = encodeLink(4_000_000_000, cmds);
    expect(linkSeq(bytes)).toBe(4_000_000_000);
    expect(decode(bytes)).toEqual(cmds);
  });

  it("stop at a truncated or unknown record", () => {
    const bytes = encodeLink(1, [{ op: "RDY", count: 1 }, { op: "FIN", id: "0000000000000001" }]);
    expect(decode(bytes.subarray(0, bytes.length - 1))).toEqual([{ op: "RDY", count: 1 }]);
    const junk = new Uint8Array([0, 0, 0, 1, 0x5a, 1, 2]);
    expect(decode(junk)).toEqual([]);
  });

  it("read an id as its number; anything not one of ours is -1", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    for (const id of [0, 1, 0xabcdef, Date.now() * 1000, 2 ** 53 - 1]) expect(idValue(enc(hexId(id)), 0)).toBe(id);
    expect(idValue(enc("000000000000000G"), 0)).toBe(-1);
    expect(idValue(enc("00000000000000AB"), 0)).toBe(-1); // ids are lowercase on the wire
    expect(idValue(enc("ffffffffffffffff"), 0)).toBe(-1); // above 2^53: never issued
  });
});
