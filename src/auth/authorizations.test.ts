import { describe, expect, it } from "vitest";
import { hasAuthorizations, isAllowed, isExpired, mayAdmin, maySee, parseAnswer, type AuthState } from "./authorizations";

const NOW = 1_000_000;
const state = (json: unknown) => {
  const s = parseAnswer(json, NOW);
  if (typeof s === "string") throw new Error(s);
  return s;
};
const auth = (topic: string, channels: string[], permissions: string[]) => ({ topic, channels, permissions });

describe("an auth answer, validated as nsqd's QueryAuthd", () => {
  it("keeps identity, authorizations and an expiry ttl seconds from now", () => {
    const s = state({ ttl: 60, identity: "billing", identity_url: "https://x/billing", authorizations: [auth("^orders$", [".*"], ["publish"])] });
    expect(s.identity).toBe("billing");
    expect(s.identityUrl).toBe("https://x/billing");
    expect(s.expires).toBe(NOW + 60_000);
    expect(isExpired(s, NOW + 60_000)).toBe(false);
    expect(isExpired(s, NOW + 60_001)).toBe(true);
  });

  it("refuses an unknown permission, a bad pattern, a ttl not above 0, mistyped fields", () => {
    expect(parseAnswer({ ttl: 1, authorizations: [auth("t", [], ["read"])] }, NOW)).toBe("unknown permission read");
    expect(parseAnswer({ ttl: 1, authorizations: [auth("(", [], [])] }, NOW)).toMatch(/^unable to compile topic "\("/);
    expect(parseAnswer({ ttl: 1, authorizations: [auth("t", ["(?=x)"], [])] }, NOW)).toMatch(/^unable to compile channel/);
    expect(parseAnswer({ ttl: 0, authorizations: [] }, NOW)).toBe("invalid TTL 0 (must be >0)");
    expect(parseAnswer({ ttl: -5 }, NOW)).toBe("invalid TTL -5 (must be >0)");
    expect(parseAnswer({ authorizations: [] }, NOW)).toBe("invalid TTL 0 (must be >0)");
    expect(parseAnswer({ ttl: "60" }, NOW)).toBe("ttl is not a whole number");
    expect(parseAnswer({ ttl: 1.5 }, NOW)).toBe("ttl is not a whole number");
    expect(parseAnswer({ ttl: 1, identity: 5 }, NOW)).toBe("identity is not a string");
    expect(parseAnswer({ ttl: 1, authorizations: {} }, NOW)).toBe("authorizations is not an array");
    expect(parseAnswer({ ttl: 1, authorizations: [{ topic: "t", channels: "x" }] }, NOW)).toMatch(/channels is not an array/);
    expect(parseAnswer([], NOW)).toBe("the answer is not a JSON object");
    expect(parseAnswer(null, NOW)).toBe("the answer is not a JSON object");
  });

  it("takes missing and null fields as Go's zero values", () => {
    const s = state({ ttl: 1, identity: null, authorizations: [{ topic: "t" }] });
    expect(s.identity).toBe("");
    expect(s.authorizations).toEqual([{ topic: "t", channels: [], permissions: [] }]);
    expect(hasAuthorizations(state({ ttl: 1 }))).toBe(false);
    expect(hasAuthorizations(s)).toBe(true);
  });
});

describe("what an identity may do", () => {
  const billing: AuthState = state({
    ttl: 60,
    authorizations: [auth("^orders$", ["^billing$"], ["subscribe"]), auth("^orders$", [".*"], ["publish"]), auth("^ops\\.", [".*"], ["admin"])],
  });

  it("publish needs a channel pattern that matches the empty string (nsqd's rule)", () => {
    expect(isAllowed(billing, "orders", "")).toBe(true);
    const narrow = state({ ttl: 1, authorizations: [auth("^orders$", ["^billing$"], ["publish", "subscribe"])] });
    expect(isAllowed(narrow, "orders", "")).toBe(false);
    expect(isAllowed(narrow, "orders", "billing")).toBe(true);
  });

  it("subscribe needs the topic and the channel to match", () => {
    expect(isAllowed(billing, "orders", "billing")).toBe(true);
    expect(isAllowed(billing, "orders", "shipping")).toBe(false);
    expect(isAllowed(billing, "orders2", "billing")).toBe(false);
    expect(isAllowed(billing, "invoices", "")).toBe(false);
  });

  it("admin is its own permission, per topic and channel", () => {
    expect(mayAdmin(billing, "orders")).toBe(false);
    expect(mayAdmin(billing, "ops.deploys")).toBe(true);
    expect(mayAdmin(billing, "ops.deploys", "audit")).toBe(true);
    const channelAdmin = state({ ttl: 1, authorizations: [auth(".*", ["^audit$"], ["admin"])] });
    expect(mayAdmin(channelAdmin, "t", "audit")).toBe(true);
    expect(mayAdmin(channelAdmin, "t", "other")).toBe(false);
  });

  it("reads show what some permission covers", () => {
    expect(maySee(billing, "orders")).toBe(true);
    expect(maySee(billing, "orders", "shipping")).toBe(true); // the publish authorization's ".*"
    expect(maySee(billing, "invoices")).toBe(false);
    const subOnly = state({ ttl: 1, authorizations: [auth("^orders$", ["^billing$"], ["subscribe"])] });
    expect(maySee(subOnly, "orders", "shipping")).toBe(false);
    expect(maySee(state({ ttl: 1, authorizations: [auth(".*", [".*"], [])] }), "orders")).toBe(false);
  });
});
