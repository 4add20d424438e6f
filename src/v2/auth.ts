// AUTH and the checks before SUB, PUB, MPUB and DPUB, as nsqd's protocol_v2.go has them (AUTH,
// CheckAuth) and client_v2.go (IsAuthorized: an expired answer is asked again first). Pure: the
// session asks the authenticator and passes the clock in.
import { hasAuthorizations, isAllowed, isExpired, type AuthState } from "../auth/authorizations";
import { fatal, ProtocolError } from "../protocol/errors";
import { responseFrame } from "../protocol/frames";

/** A connection's auth. */
export interface ConnectionAuth {
  /** Auth is on for the service. */
  readonly enabled: boolean;
  /** The answer for the connection's secret; null before AUTH. */
  state: AuthState | null;
  /** The upgrade carried a Bearer secret, which counts as an AUTH made: IDENTIFY requires none. */
  readonly fromUpgrade: boolean;
  /** An AUTH command succeeded on this connection. */
  authed?: boolean;
}

/** Thrown by a check that found the answer expired: the session asks again, then runs the command again. */
export class AuthExpired extends Error {}

const goQuote = (s: string) => JSON.stringify(s);

/**
 * nsqd's CheckAuth for `verb` on a topic (channel "" for a publish). `lineOnly`: the body has not
 * arrived yet, so an expired answer is left for the whole command to ask again.
 */
export function checkAuth(auth: ConnectionAuth, now: number, verb: string, topic: string, channel: string, lineOnly = false) {
  if (!auth.enabled) return;
  const state = auth.state;
  // nsqd asks "AUTH made?" of the answer it had before any re-ask, which had authorizations (an
  // AUTH without any is refused): an expired answer re-asked into none is E_UNAUTHORIZED below.
  if (state === null) throw fatal("E_AUTH_FIRST", `AUTH required before ${verb}`);
  if (isExpired(state, now)) {
    if (lineOnly) return;
    throw new AuthExpired();
  }
  if (!isAllowed(state, topic, channel))
    throw fatal("E_UNAUTHORIZED", `AUTH failed for ${verb} on ${goQuote(topic)} ${goQuote(channel)}`);
}

/**
 * What AUTH may not do before it asks (after its body is read, as in nsqd). One AUTH may follow
 * an upgrade's Bearer and take its place: a client behind `nsq-edge bridge --token` that brings
 * its own secret (nsqjs sends AUTH whenever it has one, whatever IDENTIFY said) is that identity.
 */
export function checkAuthCommand(auth: ConnectionAuth) {
  if (hasAuthorizations(auth.state) && (auth.authed || !auth.fromUpgrade)) throw fatal("E_INVALID", "AUTH already set");
  if (!auth.enabled) throw fatal("E_AUTH_DISABLED", "AUTH disabled");
}

/** An auth server that could not be asked, or refused: the reason is logged, never sent (as nsqd). */
export const AUTH_FAILED = fatal("E_AUTH_FAILED", "AUTH failed");

/** The answer to AUTH once asked: nsqd's JSON, or E_AUTH_FAILED / E_UNAUTHORIZED (fatal). */
export function authAnswer(state: AuthState | null): Uint8Array | ProtocolError {
  if (state === null) return AUTH_FAILED;
  if (!hasAuthorizations(state)) return fatal("E_UNAUTHORIZED", "AUTH no authorizations found");
  return responseFrame(
    JSON.stringify({ identity: state.identity, identity_url: state.identityUrl, permission_count: state.authorizations.length }),
  );
}
