// RDY over a consumer's connections (go-nsq's perConnMaxInFlight and rdyLoop): the consumer
// decides when (not in backoff, not closing); these decide how much each connection gets.
import * as cmd from "../../src/protocol/commands.js";
import type { Connection } from "./connection.js";

/** Sends RDY n, capped by the server's max_rdy_count, unless the connection has it already. */
export function setRdy(conn: Connection, n: number) {
  const count = Math.max(0, Math.min(n, conn.settings.maxRdyCount));
  if (conn.rdy === count || conn.closed) return;
  conn.rdy = count;
  conn.write(cmd.rdy(count));
}

/**
 * Spreads maxInFlight over the connections, never letting the sum exceed it: decreases are
 * sent before increases. With more connections than maxInFlight, the connections holding RDY
 * keep it and redistribute() rotates it.
 */
export function rebalance(live: Connection[], maxInFlight: number) {
  if (live.length === 0) return;
  const target = new Map<Connection, number>();
  if (maxInFlight >= live.length) {
    const share = Math.floor(maxInFlight / live.length);
    for (const c of live) target.set(c, share);
  } else {
    let left = maxInFlight;
    const holders = live.filter((c) => c.rdy > 0);
    const others = shuffle(live.filter((c) => c.rdy === 0));
    for (const c of [...holders, ...others]) {
      target.set(c, left > 0 ? 1 : 0);
      if (left > 0) left--;
    }
  }
  for (const [c, n] of target) if (n < c.rdy) setRdy(c, n);
  for (const [c, n] of target) if (n > c.rdy) setRdy(c, n);
}

/** With fewer RDY than connections: connections idle for `idleTimeout` ms give their RDY to others. */
export function redistribute(live: Connection[], maxInFlight: number, idleTimeout: number, now: number) {
  if (maxInFlight >= live.length) return;
  const idle = live.filter((c) => c.rdy > 0 && c.inFlight === 0 && now - c.lastMessageAt > idleTimeout);
  const candidates = shuffle(live.filter((c) => c.rdy === 0));
  for (const c of idle) {
    const next = candidates.pop();
    if (!next) break;
    setRdy(c, 0);
    next.lastMessageAt = now;
    setRdy(next, 1);
  }
}

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}
