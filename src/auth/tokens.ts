// Built-in tokens: identities for a deployment without an auth server. The Worker secret
// AUTH_TOKENS (`wrangler secret put AUTH_TOKENS`; locally `--var` or .dev.vars) is a JSON object
// keyed by the SHA-256 (hex) of each secret, each value an auth server's answer without a ttl:
//
//   {"5e88…d1": {"identity": "billing", "authorizations": [{"topic": "^orders$", …}]}}
//
// Only digests are stored, so the variable never holds a secret in clear; `nsq-edge token
// create` makes a secret and its entry. A lookup compares the digest of the secret given with
// every key in constant time (no early exit on the first differing byte, none on a match).
import { parseAnswer, type AuthState } from "./authorizations";

export interface Tokens {
  /** Hex digest → its answer, checked. */
  readonly entries: readonly { digest: Uint8Array; state: AuthState }[];
}

const HEX64 = /^[0-9a-f]{64}$/;

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** AUTH_TOKENS parsed, or the reason it cannot be (never quoting a value: it names the key's position). */
export function parseTokens(text: string): Tokens | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "AUTH_TOKENS is not JSON (expected an object of SHA-256 hex digest → identity; see nsq-edge token create)";
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return "AUTH_TOKENS is not a JSON object";
  const entries: { digest: Uint8Array; state: AuthState }[] = [];
  for (const [key, value] of Object.entries(json)) {
    const n = entries.length + 1;
    if (!HEX64.test(key)) return `AUTH_TOKENS entry ${n}: the key is not a SHA-256 hex digest (64 lowercase hex digits)`;
    const state = parseAnswer(value, 0, true);
    if (typeof state === "string") return `AUTH_TOKENS entry ${n}: ${state}`;
    entries.push({ digest: fromHex(key), state });
  }
  return { entries };
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** The identity of a secret's digest, or null; the time taken does not depend on where or whether it matches. */
export function lookupToken(tokens: Tokens, digest: Uint8Array): AuthState | null {
  let found: AuthState | null = null;
  for (const entry of tokens.entries) {
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= entry.digest[i]! ^ digest[i]!;
    if (diff === 0) found = entry.state;
  }
  return found;
}
