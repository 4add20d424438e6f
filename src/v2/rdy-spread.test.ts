import { describe, expect, it } from "vitest";
import { IDLE_MS, RdySpread, TURN_MS, type RdyCommand } from "./rdy-spread";

/**
 * A simulated connection over n shard links: each channel holds a backlog and delivers whenever
 * its in-flight count is below the RDY it has read; RDYs and acknowledgements travel with a
 * delay of one step, and a message sent before an RDY was read arrives before its
 * acknowledgement (the link is ordered). The client FINs each message after `hold` steps.
 */
function simulate(n: number, rdy: number, backlog: number[], opts: { steps: number; hold?: number; timeoutMs?: number; lowerAt?: [number, number] }) {
  const spread = new RdySpread(n);
  const hold = opts.hold ?? 1;
  const channels = backlog.map((left) => ({ left, rdy: 0, inFlight: 0 }));
  // Per link, what is on the wire toward the session, in order.
  const wire: { kind: "msg" | "ack"; id?: string; count?: number }[][] = channels.map(() => []);
  const toChannel: RdyCommand[][] = channels.map(() => []);
  const holding: { id: string; link: number; until: number }[] = [];
  let clientInFlight = 0;
  let maxInFlight = 0;
  let overs = 0;
  let delivered = 0;
  const perLink = channels.map(() => 0);
  let next = 0;
  let ready = rdy;
  let settled = true;
  const route = (cmds: RdyCommand[]) => cmds.forEach((c) => toChannel[c.link]!.push(c));
  let now = 0;
  route(spread.setReady(rdy, now));
  for (let step = 0; step < opts.steps; step++) {
    now += 10;
    if (opts.lowerAt && step === opts.lowerAt[0]) {
      ready = opts.lowerAt[1];
      settled = false;
      route(spread.setReady(ready, now));
    }
    // Channels deliver what the RDY they have read allows, then read the RDYs that came (each
    // acknowledged after what was sent before it): a message may cross a lowering on the wire.
    channels.forEach((ch, i) => {
      while (ch.left > 0 && ch.inFlight < ch.rdy) {
        ch.left--;
        ch.inFlight++;
        wire[i]!.push({ kind: "msg", id: `${i}:${next++}` });
      }
      for (const c of toChannel[i]!.splice(0)) {
        ch.rdy = c.count;
        wire[i]!.push({ kind: "ack", count: c.count });
      }
    });
    // The session reads what arrived.
    wire.forEach((w, i) => {
      for (const f of w.splice(0)) {
        if (f.kind === "ack") route(spread.acked(i, f.count!, now));
        else {
          spread.delivered(i, f.id!, now, now + (opts.timeoutMs ?? 60_000));
          clientInFlight++;
          delivered++;
          perLink[i]!++;
          maxInFlight = Math.max(maxInFlight, clientInFlight);
          // Checked at every delivery: never more in flight than the RDY in force (after a
          // lowering, once in flight has come under it: what was out stays out, as with nsqd).
          if (clientInFlight > (settled ? ready : Math.max(ready, rdy))) overs++;
          holding.push({ id: f.id!, link: i, until: step + hold });
        }
      }
    });
    // The client FINs what it has held long enough.
    for (let k = holding.length - 1; k >= 0; k--) {
      const h = holding[k]!;
      if (h.until > step) continue;
      holding.splice(k, 1);
      const r = spread.finished(h.id, now);
      expect(r.link).toBe(h.link);
      channels[h.link]!.inFlight--;
      clientInFlight--;
      if (clientInFlight <= ready) settled = true;
      route(r.rdy);
    }
    route(spread.tick(now));
  }
  return { delivered, maxInFlight, overs, perLink, left: channels.map((c) => c.left) };
}

describe("RdySpread", () => {
  it("with RDY ≥ shards, every link gets its share and all of it flows", () => {
    const r = simulate(4, 10, [100, 100, 100, 100], { steps: 200 });
    expect(r.overs).toBe(0);
    expect(r.maxInFlight).toBeLessThanOrEqual(10);
    expect(r.left).toEqual([0, 0, 0, 0]);
  });

  it("RDY 1 over 16 shards: never two in flight, and every shard is drained", () => {
    const r = simulate(16, 1, Array.from({ length: 16 }, () => 5), { steps: 3000 });
    expect(r.overs).toBe(0);
    expect(r.maxInFlight).toBe(1);
    expect(r.left).toEqual(Array(16).fill(0));
    expect(r.perLink).toEqual(Array(16).fill(5));
  });

  it("RDY 3 over 16 shards with one busy shard: the bound holds and the others are visited", () => {
    const backlog = Array.from({ length: 16 }, (_, i) => (i === 7 ? 200 : 2));
    const r = simulate(16, 3, backlog, { steps: 4000, hold: 2 });
    expect(r.overs).toBe(0);
    expect(r.maxInFlight).toBeLessThanOrEqual(3);
    expect(r.left).toEqual(Array(16).fill(0));
  });

  it("lowering RDY below the shards: no new delivery until in flight is under the new RDY", () => {
    const r = simulate(4, 8, [60, 60, 60, 60], { steps: 1500, hold: 3, lowerAt: [20, 2] });
    expect(r.overs).toBe(0);
    expect(r.left).toEqual([0, 0, 0, 0]);
  });

  it("a message past its deadline (plus a margin) no longer counts, so RDY moves on", () => {
    const spread = new RdySpread(2);
    let cmds = spread.setReady(1, 0);
    expect(cmds).toEqual([{ link: 0, count: 1 }]);
    cmds = spread.acked(0, 1, 0);
    spread.delivered(0, "a", 1, 1000);
    // Held in flight: link 0 keeps its turn past TURN_MS.
    expect(spread.tick(TURN_MS + 10)).toEqual([]);
    // Timed out (the channel requeued it): the turn passes, lowered first, then raised once acknowledged.
    expect(spread.tick(1000 + 1001)).toEqual([{ link: 0, count: 0 }]);
    expect(spread.acked(0, 0, 2002)).toEqual([{ link: 1, count: 1 }]);
    expect(spread.inFlight).toBe(0);
  });

  it("an idle holder passes RDY on after IDLE_MS, a busy one keeps it until TURN_MS", () => {
    const spread = new RdySpread(3);
    spread.setReady(1, 0);
    spread.acked(0, 1, 0);
    expect(spread.tick(IDLE_MS - 1)).toEqual([]);
    expect(spread.tick(IDLE_MS)).toEqual([{ link: 0, count: 0 }]);
    expect(spread.acked(0, 0, IDLE_MS)).toEqual([{ link: 1, count: 1 }]);
  });

  it("FINs route to the link a message came from; unknown ids are -1", () => {
    const spread = new RdySpread(2);
    spread.setReady(4, 0);
    spread.delivered(1, "x", 0, 100);
    expect(spread.linkOf("x")).toBe(1);
    expect(spread.finished("x", 0).link).toBe(1);
    expect(spread.finished("x", 0).link).toBe(-1);
  });
});
