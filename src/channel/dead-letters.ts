// Dead letters on their way out, and redrives on their way back: the records and keys that
// travel with them. A dead letter keeps its body unchanged; where it came from travels beside it
// as the message's meta (src/segment.ts's SEGMENT_META), which peek shows and a redrive reads.
//
// Moving is at-least-once from the channel's side (stored in the dead-letter topic, then deleted
// here); each move carries a key the topic remembers (src/topic/admission.ts), so a move retried
// after a crash is stored there once.
import { hexId } from "../message";
import type { Origin } from "../peek";
import type { DeadRow } from "./store";

export type { Origin };

/** A dead row's meta: its first origin if it was already a dead letter, else this one. */
export function originMeta(topic: string, channel: string, [id, ts, attempts, , meta, reason, at]: DeadRow): string {
  if (meta !== null) return meta;
  return JSON.stringify({ topic, channel, id: hexId(id), attempts, timestamp: ts, reason, dead_at: at } satisfies Origin);
}

export const deadKey = (topic: string, channel: string, id: number) => `dead:${topic}/${channel}/${hexId(id)}`;

/** A message's origin, if its meta is one. */
export function originOf(meta: string | null): Origin | null {
  if (meta === null) return null;
  try {
    const o = JSON.parse(meta) as Partial<Origin>;
    return typeof o.topic === "string" && typeof o.channel === "string" && typeof o.id === "string" ? (o as Origin) : null;
  } catch {
    return null;
  }
}

/** A redrive's key: one per dead letter and trip back. */
export const redriveKey = (o: Origin, deadId: number) => `redrive:${o.topic}/${o.channel}/${o.id}/${hexId(deadId)}`;
