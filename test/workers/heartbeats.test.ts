// nsqd sends `_heartbeat_` at the negotiated interval and drops a client that stays silent for
// two intervals; a client that answers with NOP stays connected.
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { FrameReader, frameText } from "../../src/protocol/frames";
import { cmd } from "../helpers/v2client";
import { sleep } from "../helpers/wait";

async function rawSocket() {
  const res = await SELF.fetch("http://nsq.test/ws", { headers: { Upgrade: "websocket" } });
  const ws = res.webSocket!;
  ws.binaryType = "arraybuffer";
  ws.accept();
  const reader = new FrameReader();
  const seen: { at: number; text: string }[] = [];
  let closedAt: number | null = null;
  ws.addEventListener("message", (e) => {
    for (const f of reader.feed(new Uint8Array(e.data as ArrayBuffer))) seen.push({ at: Date.now(), text: frameText(f) });
  });
  ws.addEventListener("close", () => {
    closedAt = Date.now();
  });
  return { ws, seen, closedAt: () => closedAt };
}


it("sends heartbeats at the negotiated interval and closes a client that misses two", async () => {
  const s = await rawSocket();
  const start = Date.now();
  s.ws.send(cmd.concatAll([cmd.MAGIC_V2, cmd.identify({ heartbeat_interval: 1000 })]));
  while (s.closedAt() === null && Date.now() - start < 6000) await sleep(50);
  const beats = s.seen.filter((f) => f.text === "_heartbeat_");
  expect(beats.length).toBeGreaterThanOrEqual(2);
  expect(beats[0].at - start).toBeGreaterThanOrEqual(900);
  expect(s.closedAt()).not.toBeNull();
  // Silent for more than two intervals, at most three.
  expect(s.closedAt()! - start).toBeGreaterThanOrEqual(2000);
  expect(s.closedAt()! - start).toBeLessThan(4500);
});

it("keeps a client that answers heartbeats with NOP", async () => {
  const s = await rawSocket();
  s.ws.send(cmd.concatAll([cmd.MAGIC_V2, cmd.identify({ heartbeat_interval: 1000 })]));
  let answered = 0;
  const start = Date.now();
  while (Date.now() - start < 4000) {
    const beats = s.seen.filter((f) => f.text === "_heartbeat_").length;
    while (answered < beats) {
      s.ws.send(cmd.nop());
      answered++;
    }
    await sleep(50);
  }
  expect(answered).toBeGreaterThanOrEqual(3);
  expect(s.closedAt()).toBeNull();
  s.ws.close(1000, "done");
});
