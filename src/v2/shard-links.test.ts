import { describe, expect, it } from "vitest";
import { errorFrame, messageFrameSize, responseFrame, writeMessageFrame } from "../protocol/frames";
import { FrameIds } from "./shard-links";

function messages(ids: number[]): Uint8Array {
  const body = new TextEncoder().encode("body of some length");
  const out = new Uint8Array(ids.length * messageFrameSize(body));
  let at = 0;
  for (const id of ids) at = writeMessageFrame(out, at, 1, 1, id, body);
  return out;
}

const hex = (id: number) => id.toString(16).padStart(16, "0");

describe("FrameIds", () => {
  it("reads the id of every message frame, other frames skipped, however the stream is cut", () => {
    const stream = new Uint8Array([...errorFrame("E_FIN_FAILED x"), ...messages([1, 2]), ...responseFrame("OK"), ...messages([3])]);
    for (let cut = 1; cut <= stream.length; cut++) {
      const seen: string[] = [];
      const ids = new FrameIds();
      for (let at = 0; at < stream.length; at += cut) ids.feed(stream.subarray(at, at + cut), (id) => seen.push(id));
      expect(seen, `cut ${cut}`).toEqual([hex(1), hex(2), hex(3)]);
    }
  });
});
