import { describe, expect, it } from "vitest";
import { hexId } from "../message";
import { decodeMessage, messageFrameSize, writeMessageFrame } from "./frames";

describe("a message frame's id", () => {
  it("written from a numeric id is the same 16 hex digits as from its string", () => {
    const body = new Uint8Array([1, 2, 3]);
    for (const id of [0, 1, 0xabcdef, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 15, Date.now() * 1000, 2 ** 53 - 1]) {
      const fromNumber = new Uint8Array(messageFrameSize(body));
      const fromString = new Uint8Array(messageFrameSize(body));
      writeMessageFrame(fromNumber, 0, 5, 1, id, body);
      writeMessageFrame(fromString, 0, 5, 1, hexId(id), body);
      expect(fromNumber).toEqual(fromString);
      expect(decodeMessage(fromNumber.subarray(8)).id).toBe(hexId(id));
    }
  });
});
