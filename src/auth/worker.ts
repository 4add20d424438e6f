// The Worker's authenticator: one per env (per isolate), so that HTTP answers are reused across
// requests; the runtime's fetch, clock and randomness wired in.
import type { Env } from "../config";
import { config } from "../config";
import { Authenticator } from "./authenticator";

const authenticators = new WeakMap<object, Authenticator>();

export function authenticatorOf(env: Env): Authenticator {
  let a = authenticators.get(env);
  if (!a) {
    const cfg = config(env);
    a = new Authenticator(cfg.auth, {
      fetch: (input, init) => fetch(input, init),
      now: () => Date.now(),
      random: Math.random,
      timeoutMs: cfg.httpClientRequestTimeout,
    });
    authenticators.set(env, a);
  }
  return a;
}
