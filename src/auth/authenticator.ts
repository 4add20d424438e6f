// Who a secret is: the built-in tokens first, then the auth servers (both may be configured).
// A V2 AUTH asks every time, as nsqd does per connection (the session keeps the answer for its
// ttl); an HTTP request or a WebSocket upgrade, which has no connection to keep it on, reuses an
// answer for its ttl, per secret digest and client address, from a bounded table.
import { queryAnyAuthd, type AuthdOptions } from "./authd";
import type { AuthState } from "./authorizations";
import type { AuthSettings } from "./settings";
import { lookupToken, sha256, toHex } from "./tokens";

export type AuthResult =
  | { state: AuthState }
  /** `status`: 401 when refused or the answer was unusable, 503 when no auth server answered at all. */
  | { error: string; status: 401 | 503 };

export interface AuthenticatorDeps {
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
  timeoutMs: number;
}

const CACHE_LIMIT = 10_000;

export class Authenticator {
  private readonly authd: AuthdOptions;
  private readonly cache = new Map<string, AuthState>();

  constructor(private readonly settings: AuthSettings, private readonly deps: AuthenticatorDeps) {
    this.authd = { addresses: settings.addresses, method: settings.method, timeoutMs: deps.timeoutMs, fetch: deps.fetch, now: deps.now, random: deps.random };
  }

  /** nsqd's AUTH: never a kept answer. */
  async authenticate(secret: string, remoteIp: string): Promise<AuthResult> {
    return this.token(await sha256(secret)) ?? this.askServers(secret, remoteIp);
  }

  /** The same, with an auth server's answer reused until its ttl ends. */
  async cached(secret: string, remoteIp: string): Promise<AuthResult> {
    const digest = await sha256(secret);
    // (Tokens need no table: their lookup is the digest and a comparison.)
    const token = this.token(digest);
    if (token) return token;
    const key = `${toHex(digest)} ${remoteIp}`;
    const hit = this.cache.get(key);
    if (hit && hit.expires >= this.deps.now()) return { state: hit };
    this.cache.delete(key);
    const r = await this.askServers(secret, remoteIp);
    if ("state" in r) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, r.state);
    }
    return r;
  }

  private token(digest: Uint8Array): AuthResult | null {
    const state = this.settings.tokens && lookupToken(this.settings.tokens, digest);
    return state ? { state } : null;
  }

  private async askServers(secret: string, remoteIp: string): Promise<AuthResult> {
    if (this.settings.addresses.length === 0) return { error: "unknown token", status: 401 };
    const r = await queryAnyAuthd(this.authd, remoteIp, secret);
    return "state" in r ? r : { error: r.error, status: r.answered ? 401 : 503 };
  }
}
