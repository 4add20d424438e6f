import { describe, expect, it } from "vitest";
import { parseAuthSettings } from "./settings";

const KEY = "b".repeat(64);
const TOKENS = JSON.stringify({ [KEY]: { identity: "x", authorizations: [] } });

describe("auth settings from the vars", () => {
  it("is unconfigured by default: a deploy of the repository is never an open queue", () => {
    expect(parseAuthSettings({}).settings.mode).toBe("unconfigured");
    expect(parseAuthSettings({ AUTH: "on" }).settings.mode).toBe("unconfigured");
  });

  it("is off only when AUTH=off says so", () => {
    expect(parseAuthSettings({ AUTH: "off" }).settings.mode).toBe("off");
    expect(parseAuthSettings({ AUTH: "OFF" }).settings.mode).toBe("off");
  });

  it("is on with tokens, an auth server, or both", () => {
    expect(parseAuthSettings({ AUTH_TOKENS: TOKENS }).settings.mode).toBe("on");
    const s = parseAuthSettings({ AUTH_HTTP_ADDRESS: "127.0.0.1:4181, https://auth.example/auth" });
    expect(s.settings.mode).toBe("on");
    expect(s.settings.addresses).toEqual(["127.0.0.1:4181", "https://auth.example/auth"]);
    expect(s.settings.method).toBe("get");
    expect(parseAuthSettings({ AUTH_HTTP_ADDRESS: "h:1", AUTH_HTTP_REQUEST_METHOD: "POST" }).settings.method).toBe("post");
  });

  it("says what is wrong, one line each", () => {
    expect(parseAuthSettings({ AUTH: "maybe" }).problems).toEqual(['AUTH="maybe" must be "on" or "off"']);
    expect(parseAuthSettings({ AUTH_HTTP_ADDRESS: "nohost" }).problems).toEqual(['AUTH_HTTP_ADDRESS "nohost" is not host:port or a URL']);
    expect(parseAuthSettings({ AUTH_HTTP_ADDRESS: "ftp://x/auth" }).problems[0]).toMatch(/only http and https/);
    expect(parseAuthSettings({ AUTH_HTTP_ADDRESS: "h:1", AUTH_HTTP_REQUEST_METHOD: "put" }).problems[0]).toMatch(/get or post/);
    expect(parseAuthSettings({ AUTH_TOKENS: "{" }).problems[0]).toMatch(/^AUTH_TOKENS is not JSON/);
    expect(parseAuthSettings({ AUTH: "off", AUTH_TOKENS: TOKENS }).problems[0]).toMatch(/AUTH=off together with/);
  });
});
