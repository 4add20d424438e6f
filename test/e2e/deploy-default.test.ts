// A deploy of the repository as it stands must not be an open queue: wrangler.toml turns no auth
// off, no .dev.vars is committed, and a service with nothing configured answers 401 everywhere
// but /ping and /info (npm start -- --var AUTH=on serves as such a deploy does).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Service } from "./service";

const root = path.resolve(import.meta.dirname, "..", "..");

describe("the repository as it stands", () => {
  it("configures no auth and does not turn it off: auth is unconfigured, so closed", async () => {
    const { experimental_readRawConfig } = await import("wrangler");
    const { rawConfig } = experimental_readRawConfig({ config: path.join(root, "wrangler.toml") });
    const { parseVars } = await (await import(pathToFileURL(path.join(root, "scripts", "check-vars.mjs")).href)).loadConfig();
    for (const vars of [rawConfig.vars ?? {}, ...Object.values(rawConfig.env ?? {}).map((e) => (e as { vars?: object }).vars ?? {})]) {
      expect(Object.keys(vars).filter((k) => k.startsWith("AUTH"))).toEqual([]);
      expect(parseVars(vars).auth.mode).toBe("unconfigured");
    }
  });

  it("commits no .dev.vars (local secrets), and ignores one", () => {
    expect(execFileSync("git", ["ls-files", ".dev.vars"], { cwd: root, encoding: "utf8" })).toBe("");
    expect(execFileSync("git", ["check-ignore", ".dev.vars"], { cwd: root, encoding: "utf8" }).trim()).toBe(".dev.vars");
  });
});

describe("a service with auth unconfigured (npm start -- --var AUTH=on)", () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await Service.create({ AUTH: "on" });
  }, 90_000);
  afterAll(async () => {
    await svc?.stop();
  });

  it("says so in its first lines", () => {
    expect(svc.output).toMatch(/auth: on but not configured/);
  });

  it("answers /ping and /info, and 401 with how to configure auth everywhere else", async () => {
    expect((await svc.fetch("/ping")).status).toBe(200);
    expect((await svc.fetch("/info")).status).toBe(200);
    for (const [method, p] of [["GET", "/stats"], ["POST", "/pub?topic=t"], ["POST", "/topic/create?topic=t"], ["GET", "/lookup?topic=t"], ["GET", "/admin/"], ["GET", "/identity"]]) {
      const res = await svc.fetch(p!, { method, body: method === "POST" ? "x" : undefined, headers: { Authorization: "Bearer anything" } });
      expect(res.status, p).toBe(401);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/AUTH_TOKENS/);
    }
    const ws = new WebSocket(svc.url.replace("http", "ws") + "/ws");
    const status = await new Promise((resolve) => ws.once("unexpected-response", (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(401);
  });
});
