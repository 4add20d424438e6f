// What every view gets: navigation, an immediate refresh, stats polling that feeds the history,
// and the actions with their confirmations and notices.
import * as api from "./api";
import { confirmAction, notify } from "./dialog";
import { h } from "./dom";
import { forget, record } from "./history";

export const BASE = "/admin";

export interface View {
  title: string;
  el: HTMLElement;
  /** Fetches what the page shows and updates its live regions. */
  refresh(): Promise<void>;
}

export interface Ctx {
  navigate(path: string): void;
  refreshNow(): void;
  /** The width charts are drawn at: the content column's. */
  chartWidth(): number;
}

/** Polls /stats and records the answer in the history the charts draw from. */
export async function loadStats(filter: { topic?: string; channel?: string; clients?: boolean } = {}): Promise<api.Stats> {
  const stats = await api.stats(filter);
  record(stats, Date.now(), filter.topic === undefined);
  return stats;
}

export const topicPath = (topic: string) => `${BASE}/topics/${encodeURIComponent(topic)}`;
export const channelPath = (topic: string, channel: string) => `${topicPath(topic)}/${encodeURIComponent(channel)}`;

/** An in-app link (the router handles its clicks). */
export const link = (href: string, ...text: (string | Node)[]) => h("a", { href }, ...text);

const plural = (n: number, one: string) => `${n.toLocaleString("en-US")} ${one}${n === 1 ? "" : "s"}`;

/** What a destructive action would destroy, for its confirmation: [title, message, button]. */
function consequences(action: "empty" | "delete", topic: string, channel: string | undefined, at: Counts): [string, string, string] {
  const queued = at.depth > 0 ? `${plural(at.depth, "queued message")}` : "no queued messages right now";
  if (channel === undefined) {
    return action === "empty"
      ? [`Empty topic ${topic}?`, `The messages held by topic ${topic} itself (${at.depth > 0 ? plural(at.depth, "message") : "none right now"}) will be deleted. Its channels keep theirs.`, "Empty topic"]
      : [`Delete topic ${topic}?`, `Topic ${topic}, its ${plural(at.channels ?? 0, "channel")} and their ${queued} will be deleted. Consumers are disconnected.`, "Delete topic"];
  }
  return action === "empty"
    ? [`Empty channel ${channel}?`, `Every queued message of channel ${channel} (topic ${topic}) will be deleted: ${queued}.`, "Empty channel"]
    : [`Delete channel ${channel}?`, `Channel ${channel} of topic ${topic} and its ${queued} will be deleted. Its consumers are disconnected.`, "Delete channel"];
}

/** Figures for a confirmation, read when the button is pressed. */
export interface Counts {
  depth: number;
  channels?: number;
}

/**
 * Runs a topic or channel action from a button: empty and delete ask first. Resolves true when
 * the action ran and succeeded.
 */
export async function runAction(ctx: Ctx, action: api.TopicAction, topic: string, channel?: string, counts: Counts = { depth: 0 }): Promise<boolean> {
  const what = channel === undefined ? `topic ${topic}` : `channel ${channel} of topic ${topic}`;
  if (action === "empty" || action === "delete") {
    const [title, message, button] = consequences(action, topic, channel, counts);
    if (!(await confirmAction(title, message, button))) return false;
  }
  try {
    if (channel === undefined) await api.topicAction(action, topic);
    else await api.channelAction(action, topic, channel);
  } catch (e) {
    // A 401 has put up the login form already: nothing to add.
    if (!(e instanceof api.ApiError && e.status === 401)) notify(`${action} ${what}: ${e instanceof Error ? e.message : e}`, "error");
    return false;
  }
  if (action === "delete") forget(topic, channel);
  const past: Record<string, string> = { create: "created", delete: "deleted", empty: "emptied", pause: "paused", unpause: "unpaused" };
  notify(`${what[0].toUpperCase()}${what.slice(1)} ${past[action]}`);
  ctx.refreshNow();
  return true;
}
