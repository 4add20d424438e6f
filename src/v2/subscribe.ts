// What SUB needs besides the channel's object: the ClientInfo the channel keeps for /stats and
// deadlines, and nsqd's retry when the channel goes away under the join. Pure: the join, the
// wait and the clock come in.
import { hasAuthorizations, type AuthState } from "../auth/authorizations";
import type { ClientInfo } from "../protocol/link";
import type { Settings } from "./identify";

/** The client as the channel sees it (nsqd's ClientV2Stats fields). */
export function clientInfo(s: Settings, remoteAddress: string, nowMs: number, auth: AuthState | null = null): ClientInfo {
  return {
    client_id: s.clientId,
    hostname: s.hostname,
    remote_address: remoteAddress,
    user_agent: s.userAgent,
    msg_timeout: s.msgTimeout,
    sample_rate: s.sampleRate,
    connect_ts: Math.floor(nowMs / 1000),
    deflate: false,
    snappy: false,
    tls: false,
    authed: hasAuthorizations(auth),
    auth_identity: auth?.identity ?? "",
    auth_identity_url: auth?.identityUrl ?? "",
  };
}

/** nsqd's SUB waits this long before its one retry. */
export const SUB_RETRY_MS = 100;

/**
 * Joins with `tryJoin`, which gives null when the channel was deleted between its creation and
 * the join (an ephemeral channel whose last consumer left meanwhile). As nsqd does, retries
 * once, SUB_RETRY_MS later, then fails as nsqd does ("SUB failed to deleted topic/channel").
 */
export async function joinWithRetry<T>(tryJoin: () => Promise<T | null>, wait: (ms: number) => Promise<unknown>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const joined = await tryJoin();
    if (joined !== null) return joined;
    if (attempt >= 2) throw new Error("to deleted topic/channel");
    await wait(SUB_RETRY_MS);
  }
}
