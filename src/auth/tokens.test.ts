import { describe, expect, it } from "vitest";
import { lookupToken, parseTokens, sha256, toHex, type Tokens } from "./tokens";

const entry = { identity: "billing", authorizations: [{ topic: "^orders$", channels: [".*"], permissions: ["publish"] }] };

async function tokensFor(secrets: Record<string, unknown>): Promise<Tokens> {
  const json: Record<string, unknown> = {};
  for (const [secret, value] of Object.entries(secrets)) json[toHex(await sha256(secret))] = value;
  const t = parseTokens(JSON.stringify(json));
  if (typeof t === "string") throw new Error(t);
  return t;
}

describe("built-in tokens", () => {
  it("finds the identity of a secret by its digest, and none for another secret", async () => {
    const tokens = await tokensFor({ "s3cret": entry, other: { identity: "ops", authorizations: [] } });
    expect(lookupToken(tokens, await sha256("s3cret"))?.identity).toBe("billing");
    expect(lookupToken(tokens, await sha256("other"))?.identity).toBe("ops");
    expect(lookupToken(tokens, await sha256("s3cret "))).toBeNull();
    expect(lookupToken(tokens, await sha256(""))).toBeNull();
  });

  it("never expires (no ttl needed)", async () => {
    const tokens = await tokensFor({ a: entry });
    expect(lookupToken(tokens, await sha256("a"))!.expires).toBe(Infinity);
  });

  it("refuses what is not a digest-keyed object of valid answers, without quoting values", () => {
    expect(parseTokens("not json")).toMatch(/^AUTH_TOKENS is not JSON/);
    expect(parseTokens("[]")).toBe("AUTH_TOKENS is not a JSON object");
    expect(parseTokens(JSON.stringify({ "my-secret": entry }))).toBe(
      "AUTH_TOKENS entry 1: the key is not a SHA-256 hex digest (64 lowercase hex digits)",
    );
    const key = "a".repeat(64);
    expect(parseTokens(JSON.stringify({ [key]: { authorizations: [{ topic: "(", permissions: [] }] } }))).toMatch(
      /^AUTH_TOKENS entry 1: unable to compile topic/,
    );
    expect(parseTokens(JSON.stringify({ [key]: { authorizations: [{ topic: "t", permissions: ["all"] }] } }))).toBe(
      "AUTH_TOKENS entry 1: unknown permission all",
    );
  });
});
