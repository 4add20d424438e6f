// Who the UI acts as: the token the operator logged in with (kept for this tab only, in
// sessionStorage, so closing the tab forgets it) and what /identity says it may do. With auth off
// there is no token and no identity, and every action is offered, as before auth existed.
import { mayAdmin, parseAnswer, type AuthState } from "../../src/auth/authorizations";

const STORED_TOKEN = "nsq-edge-admin.token";

export const token = (): string | null => sessionStorage.getItem(STORED_TOKEN);
export const setToken = (secret: string) => sessionStorage.setItem(STORED_TOKEN, secret);
export const dropToken = () => sessionStorage.removeItem(STORED_TOKEN);

/** GET /identity's answer with auth on. */
export interface IdentityAnswer {
  auth_required: true;
  identity: string;
  identity_url: string;
  authorizations: unknown;
}

// null: auth off (or not logged in yet, when nothing is drawn but the login form).
let current: AuthState | null = null;

/**
 * Takes /identity's answer as the identity the pages act for, checked and compiled by the
 * service's own code (src/auth/authorizations.ts), so the UI offers what the service allows.
 * Returns the reason when the answer does not parse.
 */
export function setIdentity(answer: IdentityAnswer | null): string | null {
  if (answer === null) {
    current = null;
    return null;
  }
  const state = parseAnswer({ identity: answer.identity, identity_url: answer.identity_url, authorizations: answer.authorizations }, 0, true);
  if (typeof state === "string") return state;
  current = state;
  return null;
}

export const identity = (): AuthState | null => current;

/** Whether to offer a topic's (no `channel`) or a channel's actions. */
export const mayAct = (topic: string, channel?: string) => current === null || mayAdmin(current, topic, channel);

/** Whether to offer the form that creates a topic: some authorization grants `admin` (the service checks the name). */
export const mayCreateTopics = () => current === null || current.authorizations.some((a) => a.permissions.includes("admin"));
