// A V2 session served by its channel's object. A client that names its channel in the URL
// (`/ws?topic=T&channel=C`; the client library's consumers with servedByChannel) gets the same byte stream, but
// the Worker hands the upgrade to the channel's object, which runs the session itself: a
// delivery and its FIN then cost that object one event (the client's message) instead of three
// (the message over a link to the Worker, the client's FIN there, the FIN over the link). SUB of
// another channel, publishes and everything else work as in a Worker's session.
//
// This module is the request the Worker sends the object: what the Worker learned of the client
// (its address, the identity of the upgrade's Bearer) travels in one header, set only by the
// Worker (objects are reachable only through it).
import { parseAnswer, type AuthState } from "../auth/authorizations";

const SESSION_URL = "https://channel/session";
const SESSION_HEADER = "x-nsq-session";

export interface ChannelSession {
  topic: string;
  channel: string;
  remoteAddress: string;
  upgradeAuth: { state: AuthState; secret: string } | null;
}

export function channelSessionRequest(s: ChannelSession): Request {
  const auth = s.upgradeAuth && {
    identity: s.upgradeAuth.state.identity,
    identity_url: s.upgradeAuth.state.identityUrl,
    authorizations: s.upgradeAuth.state.authorizations,
    // JSON has no Infinity: a token's answer never expires.
    expires: Number.isFinite(s.upgradeAuth.state.expires) ? s.upgradeAuth.state.expires : null,
  };
  const header = JSON.stringify({ topic: s.topic, channel: s.channel, remoteAddress: s.remoteAddress, auth });
  const headers: Record<string, string> = { Upgrade: "websocket", [SESSION_HEADER]: header };
  // The secret (to ask again on expiry) where every log and tail redacts one.
  if (s.upgradeAuth) headers.Authorization = `Bearer ${s.upgradeAuth.secret}`;
  return new Request(SESSION_URL, { headers });
}

/** The session a request asks for, or null if it is another request (a link's). */
export function channelSessionOf(request: Request): ChannelSession | null {
  const header = request.headers.get(SESSION_HEADER);
  if (header === null || new URL(request.url).href !== SESSION_URL) return null;
  const s = JSON.parse(header) as { topic: string; channel: string; remoteAddress: string; auth: Record<string, unknown> | null };
  let upgradeAuth: ChannelSession["upgradeAuth"] = null;
  if (s.auth) {
    // Compiled again from the answer the Worker already checked.
    const state = parseAnswer(s.auth, 0, true);
    if (typeof state === "string") throw new Error(`the session's identity: ${state}`);
    state.expires = typeof s.auth.expires === "number" ? s.auth.expires : Infinity;
    upgradeAuth = { state, secret: (request.headers.get("Authorization") ?? "").replace(/^Bearer /, "") };
  }
  return { topic: s.topic, channel: s.channel, remoteAddress: s.remoteAddress, upgradeAuth };
}
