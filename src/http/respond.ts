// nsqd's HTTP response conventions (its "V1" decorator): errors are {"message":"..."} with
// the status, strings are sent raw, objects as JSON, and every answer says X-NSQ-Content-Type.
import type { Context } from "hono";

const NSQ = { "X-NSQ-Content-Type": "nsq; version=1.0" };
const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const nsqError = (status: number, message: string) =>
  new Response(JSON.stringify({ message }), { status, headers: { ...NSQ, "Content-Type": JSON_TYPE } });

export const nsqText = (text: string) => new Response(text, { headers: { ...NSQ, "Content-Type": TEXT_TYPE } });

/** A bodiless success, as nsqd's admin endpoints answer. */
export const nsqEmpty = () => new Response(null, { headers: NSQ });

/** Go's encoding/json escapes <, > and & (and U+2028/9); JSON.stringify does not. */
export const goJson = (data: unknown) =>
  JSON.stringify(data).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);

export const nsqJson = (data: unknown) => new Response(goJson(data), { headers: { ...NSQ, "Content-Type": JSON_TYPE } });

const parsed = new WeakMap<Request, ReadonlyMap<string, string>>();

/**
 * The query string as Go's url.ParseQuery reads it: the first value of each key, and an error
 * (→ 400 INVALID_REQUEST) for a ';' or a bad %-escape. Parsed once per request (the auth guard
 * and the route both read it).
 */
export function query(c: Context): ReadonlyMap<string, string> {
  let q = parsed.get(c.req.raw);
  if (!q) parsed.set(c.req.raw, (q = parseQuery(c.req.url)));
  return q;
}

function parseQuery(href: string): Map<string, string> {
  const url = new URL(href);
  const raw = url.search.slice(1);
  const out = new Map<string, string>();
  if (raw === "") return out;
  if (raw.includes(";")) throw new HttpError(400, "INVALID_REQUEST");
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const [k, v] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    let key: string, value: string;
    try {
      key = decodeURIComponent(k.replace(/\+/g, " "));
      value = decodeURIComponent(v.replace(/\+/g, " "));
    } catch {
      throw new HttpError(400, "INVALID_REQUEST");
    }
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

/** nsqd's boolParams: true/1 and false/0; anything else is `fallback`. */
export function boolParam(value: string | undefined, fallback: boolean): boolean {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  return fallback;
}
