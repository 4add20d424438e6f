import { describe, expect, it } from "vitest";
import { localLink } from "./local-link";

const tick = () => new Promise((r) => setTimeout(r, 0));
const text = (d: ArrayBuffer | string) => (typeof d === "string" ? `s:${d}` : new TextDecoder().decode(d));

function pair() {
  const atChannel: string[] = [];
  const closes: [number, string][] = [];
  const [session, channel] = localLink({
    message: (_end, data) => void atChannel.push(text(data)),
    close: (_end, code, reason) => void closes.push([code, reason]),
  });
  const atSession: string[] = [];
  const sessionCloses: number[] = [];
  return { session, channel, atChannel, closes, atSession, sessionCloses, listen: () => {
    session.accept();
    session.addEventListener("message", (e) => void atSession.push(text(e.data as ArrayBuffer | string)));
    session.addEventListener("close", (e) => void sessionCloses.push(e.code));
  } };
}

describe("localLink", () => {
  it("carries messages both ways in order, never inside the sender's call; text stays text, views become their bytes", async () => {
    const p = pair();
    p.listen();
    const enc = new TextEncoder();
    p.session.send(enc.encode("a"));
    p.session.send("ack");
    const big = enc.encode("xxbcxx");
    p.session.send(big.subarray(2, 4));
    expect(p.atChannel).toEqual([]);
    p.channel.send(enc.encode("1"));
    p.channel.send("A 5 0");
    await tick();
    expect(p.atChannel).toEqual(["a", "s:ack", "bc"]);
    expect(p.atSession).toEqual(["1", "s:A 5 0"]);
  });

  it("holds what reaches the session's end before accept(), as a WebSocket, and replays it in order", async () => {
    const p = pair();
    p.channel.send("early");
    p.channel.close(4001, "shard drained");
    await tick();
    expect(p.atSession).toEqual([]);
    p.listen();
    await tick();
    expect(p.atSession).toEqual(["s:early"]);
    expect(p.sessionCloses).toEqual([4001]);
  });

  it("a close reaches the other side once; sending on a closed end throws, and nothing sent after a close arrives", async () => {
    const p = pair();
    p.listen();
    p.session.close(1000, "client gone");
    p.session.close(1000, "again");
    expect(() => p.session.send("x")).toThrow(/closed/);
    await tick();
    expect(p.closes).toEqual([[1000, "client gone"]]);
    // The channel's end is closed with it: answering the close (as webSocketClose does) changes
    // nothing, and sending there throws too.
    p.channel.close(1000);
    expect(() => p.channel.send("late")).toThrow(/closed/);
    await tick();
    expect(p.sessionCloses).toEqual([]);
    expect(p.atSession).toEqual([]);
  });
});
