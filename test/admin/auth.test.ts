// The admin UI with auth on, in headless Chromium against the service running as a process with
// built-in tokens (AUTH_TOKENS): the login form, a refused token, each identity seeing only its
// topics and only the actions it holds `admin` for, the token kept across a reload of the tab and
// sent on every API call, a token refused later and log out.
import { createHash } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Stats } from "../../src/stats";
import { Service } from "../e2e/service";
import { waitText } from "./page";
import { chromiumPath } from "../helpers/chromium.mjs";

const CHROMIUM = chromiumPath();
const SHOTS = path.join(import.meta.dirname, "screenshots");
const STORED_TOKEN = "nsq-edge-admin.token";

// Secrets made up for this test; the service holds only their SHA-256.
const SECRETS = { ops: "ops-secret-0001", orders: "orders-secret-0002", billing: "billing-secret-0003" };
const IDENTITIES = {
  ops: { identity: "ops", authorizations: [{ topic: ".*", channels: [".*"], permissions: ["publish", "subscribe", "admin"] }] },
  orders: { identity: "orders-team", authorizations: [{ topic: "^orders$", channels: [".*"], permissions: ["publish", "subscribe", "admin"] }] },
  billing: { identity: "billing", authorizations: [{ topic: "^invoices$", channels: ["^billing$"], permissions: ["subscribe"] }] },
};
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const AUTH_TOKENS = JSON.stringify(Object.fromEntries(Object.entries(SECRETS).map(([k, secret]) => [sha256(secret), IDENTITIES[k as keyof typeof SECRETS]])));

let svc: Service;
let browser: Browser;

/** An HTTP call as the ops identity (admin on everything), for setting up and checking. */
async function asOps(method: "GET" | "POST", pathAndQuery: string, body?: string): Promise<Response> {
  const res = await svc.fetch(pathAndQuery, { method, body, headers: { Authorization: `Bearer ${SECRETS.ops}` } });
  expect(res.status, `${method} ${pathAndQuery}: ${await res.clone().text()}`).toBe(200);
  return res;
}

beforeAll(async () => {
  [svc, browser] = await Promise.all([
    Service.create({ AUTH_TOKENS }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }),
  ]);
  for (const t of ["orders", "invoices", "secret"]) await asOps("POST", `/topic/create?topic=${t}`);
  await asOps("POST", "/channel/create?topic=orders&channel=shipping");
  await asOps("POST", "/channel/create?topic=invoices&channel=billing");
  await asOps("POST", "/channel/create?topic=invoices&channel=audit");
  await asOps("POST", "/channel/create?topic=secret&channel=billing");
  await asOps("POST", "/mpub?topic=invoices", "i1\ni2\ni3");
});

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
});

interface Opened {
  page: Page;
  /** Script errors, and console errors other than the 401s and 403s the service answers. */
  errors: string[];
  /** Every call the page made to the service's API (anything outside /admin/), with its Authorization header. */
  calls: { url: string; authorization: string | undefined }[];
}

/** A new tab (its own sessionStorage) that refreshes every second. */
async function open(urlPath = "/admin/"): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const opened: Opened = { page, errors: [], calls: [] };
  page.on("pageerror", (e) => void opened.errors.push(String(e)));
  page.on("console", (m) => void (m.type() === "error" && !/status of 40[13]/.test(m.text()) && opened.errors.push(m.text())));
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.origin === svc.url && !url.pathname.startsWith("/admin")) opened.calls.push({ url: url.pathname + url.search, authorization: r.headers().authorization });
  });
  await page.addInitScript(() => localStorage.setItem("nsq-edge-admin.interval", "1000"));
  await page.goto(svc.url + urlPath);
  return opened;
}


const LOGIN = '[data-form="login"]';

async function logIn(page: Page, secret: string) {
  await page.waitForSelector(`${LOGIN} input[type="password"]`);
  await page.fill(`${LOGIN} input`, secret);
  await page.click(`${LOGIN} button[type="submit"]`);
}

const storedToken = (page: Page) => page.evaluate((key) => sessionStorage.getItem(key), STORED_TOKEN);
const topicRows = (page: Page) => page.locator("tr[data-topic]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-topic")));
const actionsShown = (page: Page) => page.locator("main [data-action]").count();

describe("admin UI with auth on", () => {
  it("asks for a token first, and shows the form again with an error for a wrong one", async () => {
    const { page, errors } = await open();
    await page.waitForSelector(`${LOGIN} input[type="password"]`);
    expect(await page.locator('[data-field="login-reason"]').textContent()).toMatch(/requires a token/);
    expect(await page.locator('[data-field="login-error"]').isVisible()).toBe(false);
    expect(await page.locator("header nav").isVisible()).toBe(false);
    expect(await page.locator("#who").isVisible()).toBe(false);
    expect(await page.locator("tr[data-topic]").count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, "auth-login.png"), fullPage: true });

    await logIn(page, "not-a-token");
    await waitText(page, '[data-field="login-error"]', /did not accept that token/);
    expect(await page.locator(`${LOGIN} input[type="password"]`).count()).toBe(1);
    expect(await storedToken(page)).toBeNull();
    expect(await page.locator("tr[data-topic]").count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, "auth-login-refused.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a subscribe-only identity sees its topic and channel, and no action", async () => {
    const { page, errors, calls } = await open();
    await logIn(page, SECRETS.billing);
    await waitText(page, '#who [data-field="identity"]', "billing");
    await page.waitForSelector('tr[data-topic="invoices"]');
    expect(await topicRows(page)).toEqual(["invoices"]);
    expect(await page.locator('[data-form="create-topic"]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, "auth-topics-billing.png"), fullPage: true });

    // Its topic: the one channel it may see, no topic or channel action, no create-channel form.
    await page.click('tr[data-topic="invoices"] a');
    await page.waitForURL("**/admin/topics/invoices");
    await waitText(page, 'tr[data-channel="billing"] [data-field="depth"]', "3");
    expect(await page.locator("tr[data-channel]").count()).toBe(1);
    expect(await actionsShown(page)).toBe(0);
    expect(await page.locator('[data-form="create-channel"]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, "auth-topic-billing.png"), fullPage: true });

    await page.click('tr[data-channel="billing"] a');
    await page.waitForURL("**/admin/topics/invoices/billing");
    await waitText(page, '.stat [data-field="depth"]', "3");
    expect(await actionsShown(page)).toBe(0);

    // Nodes and lookup list only its topic too.
    await page.click('header nav a[data-section="lookup"]');
    await page.waitForSelector(".chips a");
    expect(await page.locator(".chips a").allTextContents()).toEqual(["invoices"]);

    // Every API call went with the token.
    expect(calls.length).toBeGreaterThan(4);
    expect(calls.filter((c) => c.authorization !== `Bearer ${SECRETS.billing}` && c.url !== "/identity")).toEqual([]);
    expect(calls.filter((c) => c.authorization === undefined).map((c) => c.url)).toEqual(["/identity"]); // the first, before the login
    expect(errors).toEqual([]);
    await page.close();
  });

  it("an admin identity sees its topic's actions and they work; the login survives a reload; log out", async () => {
    const { page, errors, calls } = await open("/admin/topics/orders");
    await logIn(page, SECRETS.orders);
    // Logging in on a topic's address shows that topic.
    await waitText(page, '#who [data-field="identity"]', "orders-team");
    await page.waitForSelector('tr[data-channel="shipping"] [data-action="pause"]');
    expect(await page.locator('.actions [data-action]').evaluateAll((bs) => bs.map((b) => b.getAttribute("data-action")))).toEqual(["pause", "empty", "delete"]);
    expect(await page.locator('[data-form="create-channel"]').count()).toBe(1);

    await page.click('.actions [data-action="pause"]');
    await waitText(page, 'h1 [data-field="state"]', "paused");
    const stats = (await (await asOps("GET", "/stats?format=json&topic=orders")).json()) as Stats;
    expect(stats.topics?.[0]?.paused).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "auth-topic-orders.png"), fullPage: true });

    // A topic it may not see is one that does not exist.
    await page.goto(`${svc.url}/admin/topics/secret`);
    await page.waitForSelector(".empty-state");
    expect(await page.locator(".empty-state").textContent()).toMatch(/does not exist/);
    expect(await actionsShown(page)).toBe(0);

    // The reload above kept the login: the tab's token is in sessionStorage.
    await page.click('header nav a[data-section="topics"]');
    await page.waitForSelector('tr[data-topic="orders"]');
    expect(await topicRows(page)).toEqual(["orders"]);
    expect(await page.locator('[data-form="create-topic"]').count()).toBe(1);
    await page.reload();
    await page.waitForSelector('tr[data-topic="orders"]');
    expect(await page.locator(LOGIN).count()).toBe(0);
    await waitText(page, '#who [data-field="identity"]', "orders-team");
    expect(await storedToken(page)).toBe(SECRETS.orders);
    expect(calls.filter((c) => c.authorization !== `Bearer ${SECRETS.orders}`).map((c) => c.url)).toEqual(["/identity"]);

    // The identity and log out fit a phone's header.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.locator('#who [data-action="logout"]').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, "auth-phone-topics.png"), fullPage: true });

    // Log out: the form, the token gone, and a reload asks again.
    await page.click('#who [data-action="logout"]');
    await page.waitForSelector(`${LOGIN} input[type="password"]`);
    expect(await page.locator('[data-field="login-error"]').isVisible()).toBe(false);
    expect(await page.locator("#who").isVisible()).toBe(false);
    expect(await storedToken(page)).toBeNull();
    await page.reload();
    await page.waitForSelector(`${LOGIN} input[type="password"]`);
    expect(await page.locator("tr[data-topic]").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a token refused on a later call returns to the login form", async () => {
    const { page, errors } = await open();
    await logIn(page, SECRETS.billing);
    await page.waitForSelector('tr[data-topic="invoices"]');
    // The tab's token stops being one the service knows: the next poll gets 401.
    await page.evaluate((key) => sessionStorage.setItem(key, "revoked-secret"), STORED_TOKEN);
    await waitText(page, '[data-field="login-error"]', /no longer accepts the token/);
    expect(await page.locator("tr[data-topic]").count()).toBe(0);
    expect(await storedToken(page)).toBeNull();
    await logIn(page, SECRETS.billing);
    await page.waitForSelector('tr[data-topic="invoices"]');
    expect(await page.locator(".notice-error").count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
