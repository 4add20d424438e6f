// Topic and channel settings: what nsq-edge adds to nsqd's model (dead letters, TTL, bounded
// queues, dedup, retention). Every one is off by default, so an object without settings behaves
// as nsqd. Set with POST /topic/config and /channel/config (a JSON object of the keys to change;
// null puts a key back to its default), kept in the object's storage, shown in /stats.
//
// Pure: parsing and validation only. Errors are nsqd-style codes (INVALID_MAX_ATTEMPTS, ...),
// which the HTTP layer answers with 400.
import { isValidName } from "./protocol/names";

export type Overflow = "reject" | "drop_oldest";

export interface ChannelSettings {
  /** Deliveries before a message that fails again goes to the dead-letter topic (0: no limit). */
  max_attempts: number;
  /** Where dead messages go; "" with max_attempts set means `<topic>.dead`. */
  dead_letter_topic: string;
  /** A message older than this (ms since its publish) is never delivered (0: no limit). */
  msg_ttl: number;
  /** Messages the channel holds, queued, in flight or deferred (0: no bound). */
  max_depth: number;
  /** Bytes of body the channel holds (0: no bound). */
  max_bytes: number;
  /** What a publish beyond a bound does: fail (stored nowhere) or push out the oldest. */
  overflow: Overflow;
  /** FINished messages are kept this long (ms) for /channel/seek (0: not kept). */
  retention: number;
}

export interface TopicSettings {
  /** A message older than this is never delivered by any channel (0: no limit). */
  msg_ttl: number;
  /** A publish repeating an idempotency key seen this long ago (ms) is answered OK, stored once. */
  dedup_window: number;
  /** Without a key, a publish whose bodies repeat one seen within the window is a duplicate. */
  dedup_content: boolean;
}

export const CHANNEL_DEFAULTS: ChannelSettings = {
  max_attempts: 0,
  dead_letter_topic: "",
  msg_ttl: 0,
  max_depth: 0,
  max_bytes: 0,
  overflow: "reject",
  retention: 0,
};

export const TOPIC_DEFAULTS: TopicSettings = { msg_ttl: 0, dedup_window: 0, dedup_content: false };

/** nsqd's attempts are a uint16. */
const MAX_ATTEMPTS = 65535;
const MAX_DURATION_MS = 365 * 24 * 3600 * 1000;
export const MAX_DEDUP_WINDOW_MS = 7 * 24 * 3600 * 1000;

export class SettingsError extends Error {}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("24h", "1m30s", "500ms") or a number of milliseconds; null if neither. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? v : null;
  if (typeof v !== "string" || v === "") return null;
  if (v === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    ms += Number(m[1]) * UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  return at === v.length ? Math.round(ms) : null;
}

/** Milliseconds as a short Go-style duration: 86400000 -> "24h", 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let out = "";
  let rest = ms;
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}

function duration(v: unknown, code: string, max = MAX_DURATION_MS): number {
  const ms = parseDuration(v);
  if (ms === null || ms > max) throw new SettingsError(code);
  return ms;
}

function count(v: unknown, code: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v === "string" && /^\d+$/.test(v)) v = Number(v);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new SettingsError(code);
  return v;
}

/** The JSON body of a config request: an object, or SettingsError("INVALID_BODY"). */
function changesOf(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SettingsError("INVALID_BODY");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new SettingsError("INVALID_BODY");
  return parsed as Record<string, unknown>;
}

/** Each key's parser: the value given (not null), or SettingsError with the key's code. */
type Parsers<S> = { [K in keyof S]: (v: unknown) => S[K] };

/** `current` with the changes of a config request's body applied (null: the default); throws SettingsError. */
function applyChanges<S extends object>(defaults: S, parsers: Parsers<S>, current: S, body: string): S {
  const next = { ...current };
  for (const [key, v] of Object.entries(changesOf(body))) {
    if (!Object.hasOwn(defaults, key)) throw new SettingsError("INVALID_SETTING");
    const k = key as keyof S;
    next[k] = v === null ? defaults[k] : parsers[k](v);
  }
  return next;
}

export function applyChannelChanges(topic: string, current: ChannelSettings, body: string): ChannelSettings {
  const next = applyChanges(CHANNEL_DEFAULTS, {
    max_attempts: (v) => count(v, "INVALID_MAX_ATTEMPTS", MAX_ATTEMPTS),
    dead_letter_topic: (v) => {
      if (typeof v !== "string" || (v !== "" && (!isValidName(v) || v === topic))) throw new SettingsError("INVALID_DEAD_LETTER_TOPIC");
      return v;
    },
    msg_ttl: (v) => duration(v, "INVALID_MSG_TTL"),
    max_depth: (v) => count(v, "INVALID_MAX_DEPTH"),
    max_bytes: (v) => count(v, "INVALID_MAX_BYTES"),
    overflow: (v) => {
      if (v !== "reject" && v !== "drop_oldest") throw new SettingsError("INVALID_OVERFLOW");
      return v;
    },
    retention: (v) => duration(v, "INVALID_RETENTION"),
  }, current, body);
  // A limit on attempts needs somewhere to send what reaches it.
  if (next.max_attempts > 0 && next.dead_letter_topic === "" && !isValidName(`${topic}.dead`)) {
    throw new SettingsError("INVALID_DEAD_LETTER_TOPIC");
  }
  return next;
}

export function applyTopicChanges(current: TopicSettings, body: string): TopicSettings {
  return applyChanges(TOPIC_DEFAULTS, {
    msg_ttl: (v) => duration(v, "INVALID_MSG_TTL"),
    dedup_window: (v) => duration(v, "INVALID_DEDUP_WINDOW", MAX_DEDUP_WINDOW_MS),
    dedup_content: (v) => {
      if (typeof v !== "boolean") throw new SettingsError("INVALID_DEDUP_CONTENT");
      return v;
    },
  }, current, body);
}

/** Where a channel's buried messages go: its dead_letter_topic, or "<topic>.dead". */
export const deadLetterTarget = (topic: string, s: ChannelSettings): string => s.dead_letter_topic || `${topic}.dead`;

/** The topic a channel's dead messages go to ("" when it has none: no max_attempts, no topic named). */
export function deadLetterTopic(topic: string, s: ChannelSettings): string {
  return s.dead_letter_topic !== "" || s.max_attempts > 0 ? deadLetterTarget(topic, s) : "";
}

/** Settings as stored or sent: the defaults for anything missing (an older object, a new key). */
export const channelSettings = (stored: unknown): ChannelSettings => ({ ...CHANNEL_DEFAULTS, ...(typeof stored === "string" ? JSON.parse(stored) : {}) });
export const topicSettings = (stored: unknown): TopicSettings => ({ ...TOPIC_DEFAULTS, ...(typeof stored === "string" ? JSON.parse(stored) : {}) });

/** How /stats and GET .../config show them: durations as Go durations. */
export function showChannelSettings(topic: string, s: ChannelSettings) {
  return {
    ...s,
    dead_letter_topic: deadLetterTopic(topic, s),
    msg_ttl: formatDuration(s.msg_ttl),
    retention: formatDuration(s.retention),
  };
}

export function showTopicSettings(s: TopicSettings) {
  return { ...s, msg_ttl: formatDuration(s.msg_ttl), dedup_window: formatDuration(s.dedup_window) };
}

/** The TTL in force on a channel: the shorter of its own and its topic's (0: none). */
export function effectiveTtl(channelTtl: number, topicTtl: number): number {
  if (channelTtl === 0) return topicTtl;
  if (topicTtl === 0) return channelTtl;
  return Math.min(channelTtl, topicTtl);
}
