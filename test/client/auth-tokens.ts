// Built-in tokens for the client's auth tests (as test/workers/access.test.ts builds them): the
// AUTH_TOKENS var maps the SHA-256 of each secret to its identity.
import { sha256, toHex } from "../../src/auth/tokens";

export const SECRETS = { right: "sec-right", sub: "sec-sub" } as const;

const IDENTITIES: Record<keyof typeof SECRETS, unknown> = {
  // A publish is checked with channel "" (nsqd's rule): ".*" matches it.
  right: { identity: "right", identity_url: "https://id.example/right", authorizations: [{ topic: "^orders", channels: [".*"], permissions: ["publish", "subscribe"] }] },
  sub: { identity: "sub", authorizations: [{ topic: "^orders", channels: ["^billing$"], permissions: ["subscribe"] }] },
};

/** The AUTH_TOKENS value for SECRETS. */
export async function tokensJson(): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const [k, secret] of Object.entries(SECRETS)) out[toHex(await sha256(secret))] = IDENTITIES[k as keyof typeof SECRETS];
  return JSON.stringify(out);
}
