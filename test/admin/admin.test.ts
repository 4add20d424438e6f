// The admin UI at /admin, in headless Chromium (Debian's, driven by playwright-core) against the
// service running as a process: topics, a topic, a channel with a consumer, pause (delivery
// stops), empty, delete, nodes and lookup, at desktop and phone width; topic and channel
// settings, peek, a dead letter's origin and its redrive; the counter, a node's page, the charts'
// history across a reload, E2E latency percentiles. Screenshots go to
// test/admin/screenshots/ (not committed) for a person to look at.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import type { ChannelStats, Stats, TopicStats } from "../../src/stats";
import { Service } from "../e2e/service";
import { waitText, waitValue } from "./page";
import { chromiumPath } from "../helpers/chromium.mjs";
import { cmd, text, type TestClient } from "../helpers/v2client";

// No Chromium: the file fails with one line saying how to get one (a skipped UI test is no pass).
const CHROMIUM = chromiumPath();
const SHOTS = path.join(import.meta.dirname, "screenshots");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

let svc: Service;
let browser: Browser;
const pages: Page[] = [];
const clients: TestClient[] = [];

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [svc, browser] = await Promise.all([
    Service.create(),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }),
  ]);
});

afterAll(async () => {
  for (const c of clients) if (!c.closed) c.close();
  await browser?.close();
  await svc?.stop();
});

/** A page at `viewport` that refreshes every second and fails the test on a script error. */
async function open(urlPath: string, viewport = DESKTOP, service = svc): Promise<Page> {
  const page = await browser.newPage({ viewport });
  pages.push(page);
  const errors: string[] = [];
  page.on("pageerror", (e) => void errors.push(String(e)));
  // (A 404 from /lookup is an answer the page shows, though Chromium logs it.)
  page.on("console", (m) => void (m.type() === "error" && !m.location().url.includes("/lookup?") && errors.push(m.text())));
  (page as any).errors = errors;
  await page.addInitScript(() => localStorage.setItem("nsq-edge-admin.interval", "1000"));
  await page.goto(service.url + urlPath);
  return page;
}

const errorsOf = (page: Page): string[] => (page as any).errors;


async function gone(page: Page, selector: string, timeout = 10_000) {
  await page.waitForSelector(selector, { state: "detached", timeout });
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The width the page's content takes: more than the viewport means sideways scrolling. */
const contentWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

async function channelStats(topic: string, channel: string): Promise<ChannelStats | undefined> {
  const stats = (await svc.fetch(`/stats?format=json&topic=${topic}&channel=${channel}`).then((r) => r.json())) as Stats;
  return stats.topics?.[0]?.channels.find((c) => c.channel_name === channel);
}

async function topicStats(topic: string): Promise<TopicStats | undefined> {
  const stats = (await svc.fetch(`/stats?format=json&topic=${topic}`).then((r) => r.json())) as Stats;
  return stats.topics?.find((t) => t.topic_name === topic);
}

/** Reads until `check` passes (it throws until then): the last failure is the test's. */
async function until<T>(read: () => Promise<T>, check: (v: T) => void, timeout = 10_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await read();
    try {
      check(v);
      return v;
    } catch (e) {
      if (Date.now() > end) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Creates the topic and its channels. */
async function create(topic: string, ...channels: string[]) {
  await post(`/topic/create?topic=${topic}`);
  for (const ch of channels) await post(`/channel/create?topic=${topic}&channel=${ch}`);
}

async function post(pathAndQuery: string, body?: string, service = svc) {
  const res = await service.fetch(pathAndQuery, { method: "POST", body });
  expect(res.status, `${pathAndQuery}: ${await res.clone().text()}`).toBe(200);
}

describe("admin UI", () => {
  it("serves the page under /admin without touching the API's paths", async () => {
    const page = await svc.fetch("/admin/topics/x");
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("/admin/app.js");
    expect((await svc.fetch("/admin", { redirect: "manual" })).headers.get("location")).toBe("/admin/");
    expect((await svc.fetch("/admin/app.js")).headers.get("content-type")).toContain("javascript");
    expect(await (await svc.fetch("/admin/nothing.js")).json()).toEqual({ message: "NOT_FOUND" });
    expect(await (await svc.fetch("/ping")).text()).toBe("OK");
  });

  it("with auth off: no login form, no identity, the pages and their actions as they are", async () => {
    expect(await (await svc.fetch("/identity")).json()).toEqual({ auth_required: false });
    const page = await open("/admin/");
    await page.waitForSelector('[data-form="create-topic"]');
    expect(await page.locator('[data-form="login"]').count()).toBe(0);
    expect(await page.locator("#who").isVisible()).toBe(false);
    expect(await page.locator("header nav").isVisible()).toBe(true);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("topics: create a topic and a channel, publish, see depth, messages and rate", async () => {
    const topic = unique("orders");
    const page = await open("/admin/");
    await page.fill('[data-form="create-topic"] input', topic);
    await page.click('[data-form="create-topic"] button');
    const row = `tr[data-topic="${topic}"]`;
    await waitText(page, `${row} [data-field="depth"]`, "0");
    await waitText(page, `${row} [data-field="channels"]`, "0");

    await page.click(`${row} a`);
    await page.waitForURL(`**/admin/topics/${topic}`);
    await page.fill('[data-form="create-channel"] input', "billing");
    await page.click('[data-form="create-channel"] button');
    await waitText(page, 'tr[data-channel="billing"] [data-field="depth"]', "0");
    await post(`/channel/create?topic=${topic}&channel=shipping`);

    // Publish for a few polls: the depth appears, the rate is a delta of message_count.
    for (let i = 0; i < 6; i++) {
      await post(`/mpub?topic=${topic}`, Array.from({ length: 5 }, (_, j) => `m${i}-${j}`).join("\n"));
      await new Promise((r) => setTimeout(r, 350));
    }
    await waitText(page, 'tr[data-channel="billing"] [data-field="depth"]', "30");
    await waitText(page, 'tr[data-channel="shipping"] [data-field="messages"]', "30");
    await waitText(page, '[data-field="messages"]', "30");
    await waitText(page, '[data-field="channel-depth"]', "60");
    await shot(page, "desktop-topic");

    await page.click('header nav a[data-section="topics"]');
    await waitText(page, `${row} [data-field="depth"]`, "60");
    await waitText(page, `${row} [data-field="messages"]`, "30");
    await waitText(page, `${row} [data-field="channels"]`, "2");
    for (let i = 0; i < 4; i++) {
      await post(`/mpub?topic=${topic}`, "a\nb\nc\nd");
      await new Promise((r) => setTimeout(r, 400));
    }
    await waitText(page, `${row} [data-field="rate"]`, /^[1-9][\d.,]*\/s$/);
    expect(await page.locator(`${row} svg.spark polyline`).count()).toBe(1);
    await shot(page, "desktop-topics");
    expect(errorsOf(page)).toEqual([]);
  });

  it("channel: consumers listed; pause stops delivery; empty; delete, each confirmed", async () => {
    const topic = unique("jobs");
    const channel = "workers";
    await create(topic, channel);
    const consumer = await svc.connect();
    clients.push(consumer);
    await consumer.subscribe(topic, channel, 10, { client_id: "admin-test", hostname: "worker-1.example", user_agent: "nsq-edge-admin-test/1.0" });
    await post(`/pub?topic=${topic}`, "before");
    const first = await consumer.message();
    expect(text(first)).toBe("before");
    consumer.send(cmd.fin(first.id));

    const page = await open(`/admin/topics/${topic}/${channel}`);
    const client = 'tr[data-client="admin-test"]';
    await waitText(page, `${client} [data-field="user-agent"]`, "nsq-edge-admin-test/1.0");
    await waitText(page, `${client} [data-field="rdy"]`, "10");
    await waitText(page, `${client} [data-field="finished"]`, "1");
    await waitText(page, '[data-field="consumers"]', "1");
    expect(await page.locator(`${client} td`).first().textContent()).toBe("admin-test");

    // Pause: the page says so, the service says so, and the consumer gets nothing.
    await page.click('.actions [data-action="pause"]');
    await waitText(page, 'h1 [data-field="state"]', "paused");
    expect((await channelStats(topic, channel))!.paused).toBe(true);
    await post(`/mpub?topic=${topic}`, "p1\np2\np3");
    await waitText(page, '.stat [data-field="depth"]', "3");
    expect(await consumer.maybeNext(1500)).toBeNull();
    await shot(page, "desktop-channel-paused");

    // Empty asks first; cancelling keeps the messages.
    await page.click('.actions [data-action="empty"]');
    await page.waitForSelector("dialog.confirm[open]");
    expect(await page.locator("dialog.confirm").textContent()).toContain("3 queued messages");
    await shot(page, "desktop-confirm-empty");
    await page.click('dialog [data-confirm="cancel"]');
    await gone(page, "dialog.confirm");
    expect((await channelStats(topic, channel))!.depth).toBe(3);
    await page.click('.actions [data-action="empty"]');
    await page.click('dialog [data-confirm="ok"]');
    await waitText(page, '.stat [data-field="depth"]', "0");
    expect((await channelStats(topic, channel))!.depth).toBe(0);
    expect(await consumer.maybeNext(300)).toBeNull();

    // Unpause: delivery resumes.
    await page.click('.actions [data-action="unpause"]');
    await gone(page, 'h1 [data-field="state"]');
    await post(`/pub?topic=${topic}`, "after");
    const after = await consumer.message();
    expect(text(after)).toBe("after");
    consumer.send(cmd.fin(after.id));
    await waitText(page, `${client} [data-field="finished"]`, "2");

    // Delete: confirmed, then the topic page, without the channel.
    await page.click('.actions [data-action="delete"]');
    await page.click('dialog [data-confirm="ok"]');
    await page.waitForURL(`**/admin/topics/${topic}`);
    await waitText(page, '.stat [data-field="channels"]', "0");
    expect(await page.locator(`tr[data-channel="${channel}"]`).count()).toBe(0);
    expect(await channelStats(topic, channel)).toBeUndefined();
    expect(errorsOf(page)).toEqual([]);
  });

  it("topic: pause, empty and delete from the topic page; cancelling a delete keeps it", async () => {
    const topic = unique("audit");
    await create(topic, "a", "b");
    await post(`/mpub?topic=${topic}`, "1\n2");
    const page = await open(`/admin/topics/${topic}`);
    await waitText(page, 'tr[data-channel="b"] [data-field="depth"]', "2");

    await page.click('tr[data-channel="a"] [data-action="pause"]');
    await waitText(page, 'tr[data-channel="a"] [data-field="state"]', "paused");
    await waitText(page, 'tr[data-channel="b"] [data-field="state"]', "active");
    await page.click('.actions [data-action="pause"]');
    await waitText(page, 'h1 [data-field="state"]', "paused");
    await post(`/pub?topic=${topic}`, "held");
    await waitText(page, '.stat [data-field="depth"]', "1"); // held by the paused topic

    await page.click('.actions [data-action="delete"]');
    await page.click('dialog [data-confirm="cancel"]');
    await page.click('tr[data-channel="b"] [data-action="empty"]');
    await page.click('dialog [data-confirm="ok"]');
    await waitText(page, 'tr[data-channel="b"] [data-field="depth"]', "0");
    await waitText(page, 'tr[data-channel="a"] [data-field="depth"]', "2");
    expect((await svc.fetch(`/lookup?topic=${topic}`)).status).toBe(200);

    await page.click('.actions [data-action="delete"]');
    await page.click('dialog [data-confirm="ok"]');
    await page.waitForURL("**/admin/");
    await page.waitForSelector('[data-table="topics"], .empty-state');
    expect(await page.locator(`tr[data-topic="${topic}"]`).count()).toBe(0);
    expect((await svc.fetch(`/lookup?topic=${topic}`)).status).toBe(404);
    expect(errorsOf(page)).toEqual([]);
  });

  it("topic: its shards, each with its figures, and adding shards from the page", async () => {
    const topic = unique("shards");
    await create(topic, "c");
    const page = await open(`/admin/topics/${topic}`);
    await waitText(page, '[data-field="shards"]', "One shard: the topic is one object.");
    await page.fill('[data-form="add-shards"] input', "4");
    await page.click('[data-form="add-shards"] button');
    await page.waitForSelector('tr[data-shard="3"]');
    expect(await page.locator('[data-table="shards"] tbody tr').count()).toBe(4);
    for (let i = 0; i < 8; i++) await post(`/pub?topic=${topic}`, `m${i}`);
    // Spread over the shards, and counted in each one's row.
    await waitText(page, '.stat [data-field="messages"]', "8");
    const perShard = await page.locator('[data-table="shards"] tbody tr td:nth-child(4)').allTextContents();
    expect(perShard.map(Number).reduce((a, b) => a + b, 0)).toBe(8);
    expect(errorsOf(page)).toEqual([]);
  });

  it("nodes and lookup show what /nodes and /lookup answer", async () => {
    const topic = unique("lookup");
    await create(topic, "c1");
    const nodes = (await svc.fetch("/nodes").then((r) => r.json())) as any;
    const node = nodes.producers[0];

    const page = await open("/admin/nodes");
    const row = `tr[data-node="${node.remote_address}"]`;
    await waitText(page, `${row} td`, node.hostname);
    expect(await page.locator(row).textContent()).toContain(node.version);
    expect(await page.locator(row).textContent()).toContain(topic);
    await shot(page, "desktop-nodes");

    await page.click('header nav a[data-section="lookup"]');
    await page.click(`.chips a:text-is("${topic}")`);
    await waitText(page, '[data-field="lookup"] p', "Channels: c1");
    expect(await page.locator('[data-table="producers"]').textContent()).toContain(node.broadcast_address);
    await page.fill('[data-form="lookup"] input', "no-such-topic");
    await page.click('[data-form="lookup"] button');
    await waitText(page, '[data-field="lookup"]', /404 TOPIC_NOT_FOUND/);
    expect(errorsOf(page)).toEqual([]);
  });

  it("fits a phone's width", async () => {
    const topic = unique("phone");
    await create(topic, "mobile", "push-notifications");
    const consumer = await svc.connect();
    clients.push(consumer);
    await consumer.subscribe(topic, "mobile", 5, { client_id: "phone-1", hostname: "handset.example", user_agent: "nsq-edge-admin-test/1.0 (phone)" });
    // A steady publisher while the pages are open, so that the charts have something to draw.
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        await post(`/mpub?topic=${topic}`, Array.from({ length: 2 + (i % 4) }, (_, j) => `m${i}.${j}`).join("\n"));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await phonePages(topic);
    } finally {
      publishing = false;
      await publisher;
    }
  });
});

describe("admin UI: settings, peek, dead letters", () => {
  const CHANNEL_FORM = '[data-form="channel-settings"]';
  const TOPIC_FORM = '[data-form="topic-settings"]';

  /** The bodies of the page's POSTs to `path` (the settings forms' calls). */
  function postsTo(page: Page, path: string): unknown[] {
    const bodies: unknown[] = [];
    page.on("request", (r) => void (r.method() === "POST" && new URL(r.url()).pathname === path && bodies.push(r.postDataJSON())));
    return bodies;
  }

  it("channel settings: saved from the form (the changed keys only), seen in /stats; a bad value shows the service's code", async () => {
    const topic = unique("settings");
    await create(topic, "c");
    const page = await open(`/admin/topics/${topic}/c`);
    const sent = postsTo(page, "/channel/config");
    await waitValue(page, `${CHANNEL_FORM} [name="max_attempts"]`, "0");
    await waitValue(page, `${CHANNEL_FORM} [name="overflow"]`, "reject");
    await waitText(page, '.stat [data-field="dead"]', "0");
    await waitText(page, '.stat [data-field="held-bytes"]', "0");

    await page.fill(`${CHANNEL_FORM} [name="max_attempts"]`, "3");
    await page.fill(`${CHANNEL_FORM} [name="retention"]`, "1h30m");
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await until(
      () => channelStats(topic, "c"),
      (c) => expect(c!.config).toMatchObject({ max_attempts: 3, retention: "1h30m", dead_letter_topic: `${topic}.dead`, max_depth: 0 }),
    );
    expect(sent).toEqual([{ max_attempts: 3, retention: "1h30m" }]);
    // The form shows the settings as the service now has them: the effective dead-letter topic.
    await waitValue(page, `${CHANNEL_FORM} [name="dead_letter_topic"]`, `${topic}.dead`);
    await shot(page, "desktop-channel-settings");

    // A value the service refuses: its code under the form and on the field, nothing changed.
    await page.fill(`${CHANNEL_FORM} [name="max_depth"]`, "lots");
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await waitText(page, `${CHANNEL_FORM} [data-field="settings-error"]`, "INVALID_MAX_DEPTH");
    expect(await page.getAttribute(`${CHANNEL_FORM} [name="max_depth"]`, "aria-invalid")).toBe("true");
    expect(sent[1]).toEqual({ max_depth: "lots" });
    expect((await channelStats(topic, "c"))!.config!.max_depth).toBe(0);
    await page.fill(`${CHANNEL_FORM} [name="msg_ttl"]`, "soon");
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await waitText(page, `${CHANNEL_FORM} [data-field="settings-error"]`, "INVALID_MSG_TTL"); // the first bad key of the body
    expect(await page.getAttribute(`${CHANNEL_FORM} [name="msg_ttl"]`, "aria-invalid")).toBe("true");
    expect(await page.getAttribute(`${CHANNEL_FORM} [name="max_depth"]`, "aria-invalid")).toBeNull();
    await shot(page, "desktop-channel-settings-error");
    // Revert: the fields as the service has them, no error.
    await page.click(`${CHANNEL_FORM} [data-button="revert"]`);
    await waitValue(page, `${CHANNEL_FORM} [name="max_depth"]`, "0");
    await waitValue(page, `${CHANNEL_FORM} [name="msg_ttl"]`, "0s");
    expect(await page.locator(`${CHANNEL_FORM} [data-field="settings-error"]`).isVisible()).toBe(false);
    expect(errorsOf(page).filter((e) => !e.includes("400"))).toEqual([]);
  });

  it("topic settings: saved from the form; duplicates counted with the other counters", async () => {
    const topic = unique("dedup");
    await create(topic, "c");
    const page = await open(`/admin/topics/${topic}`);
    const sent = postsTo(page, "/topic/config");
    await waitValue(page, `${TOPIC_FORM} [name="dedup_window"]`, "0s");
    await waitText(page, '.stat [data-field="duplicates"]', "0");
    await waitText(page, '.stat [data-field="rejected"]', "0");
    await page.fill(`${TOPIC_FORM} [name="dedup_window"]`, "10m");
    await page.check(`${TOPIC_FORM} [name="dedup_content"]`);
    await page.click(`${TOPIC_FORM} button[type="submit"]`);
    await until(() => topicStats(topic), (t) => expect(t!.config).toEqual({ msg_ttl: "0s", dedup_window: "10m", dedup_content: true }));
    expect(sent).toEqual([{ dedup_window: "10m", dedup_content: true }]);

    await post(`/pub?topic=${topic}`, "same");
    await post(`/pub?topic=${topic}`, "same");
    await waitText(page, '.stat [data-field="duplicates"]', "1");
    await waitText(page, '.stat [data-field="channel-depth"]', "1");
    expect(errorsOf(page)).toEqual([]);
  });

  it("a change that can drop queued messages asks first; cancelling changes nothing", async () => {
    const topic = unique("bounded");
    await create(topic, "c");
    await post(`/mpub?topic=${topic}`, "1\n2\n3\n4\n5");
    const page = await open(`/admin/topics/${topic}/c`);
    await waitText(page, '.stat [data-field="depth"]', "5");
    await waitValue(page, `${CHANNEL_FORM} [name="overflow"]`, "reject");

    // A bound with overflow reject drops nothing: no question.
    await page.fill(`${CHANNEL_FORM} [name="max_depth"]`, "2");
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await until(() => channelStats(topic, "c"), (c) => expect(c!.config!.max_depth).toBe(2));
    expect(await page.locator("dialog.confirm").count()).toBe(0);
    expect((await channelStats(topic, "c"))!.depth).toBe(5);

    // drop_oldest with that bound pushes out the oldest: asked, cancelled, nothing changes.
    await page.selectOption(`${CHANNEL_FORM} [name="overflow"]`, "drop_oldest");
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await page.waitForSelector("dialog.confirm[open]");
    expect(await page.locator("dialog.confirm").textContent()).toMatch(/oldest beyond 2 go at once \(it holds 5 messages\)/);
    await shot(page, "desktop-confirm-settings");
    await page.click('dialog [data-confirm="cancel"]');
    await gone(page, "dialog.confirm");
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 5, config: { overflow: "reject" } });
    await waitValue(page, `${CHANNEL_FORM} [name="overflow"]`, "drop_oldest"); // the operator's choice stays in the form

    // Confirmed: the oldest three go.
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await page.click('dialog [data-confirm="ok"]');
    await waitText(page, '.stat [data-field="dropped"]', "3");
    await waitText(page, '.stat [data-field="depth"]', "2");
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 2, dropped_count: 3, config: { overflow: "drop_oldest", max_depth: 2 } });
    // The messages shown follow (peeked again once the depth changed).
    await page.waitForFunction(() => document.querySelectorAll('[data-table="messages"] tbody tr').length === 2);
    expect(await page.locator('[data-table="messages"] [data-field="body"]').allTextContents()).toEqual(["4", "5"]);

    // A TTL where there was none asks too.
    await page.fill(`${CHANNEL_FORM} [name="msg_ttl"]`, "1h");
    await page.click(`${CHANNEL_FORM} button[type="submit"]`);
    await page.waitForSelector("dialog.confirm[open]");
    expect(await page.locator("dialog.confirm").textContent()).toContain("older than 1h expire");
    await page.click('dialog [data-confirm="cancel"]');
    expect((await channelStats(topic, "c"))!.config!.msg_ttl).toBe("0s");
    expect(errorsOf(page)).toEqual([]);
  });

  it("peek lists a paused channel's queued messages, text and binary (as base64), leaving them queued", async () => {
    const topic = unique("peek");
    await create(topic, "c");
    await post(`/channel/pause?topic=${topic}&channel=c`);
    const long = `${"long body ".repeat(60)}end`;
    await post(`/pub?topic=${topic}`, "hello <b>peek</b>");
    const bin = await svc.fetch(`/pub?topic=${topic}`, { method: "POST", body: new Uint8Array([0, 1, 2, 255]) });
    expect(bin.status).toBe(200);
    await post(`/pub?topic=${topic}`, long);

    const page = await open(`/admin/topics/${topic}/c`);
    const rows = '[data-table="messages"] tbody tr';
    await page.waitForSelector(`${rows}:nth-child(3)`);
    expect(await page.locator(rows).count()).toBe(3);
    const [text, binary, truncated] = await page.locator(rows).all();
    // Markup in a body is text.
    expect(await text.locator('[data-field="body"]').textContent()).toBe("hello <b>peek</b>");
    expect(await page.locator('[data-table="messages"] b').count()).toBe(0);
    expect(await text.locator('[data-field="encoding"]').count()).toBe(0);
    expect(await text.locator("td").nth(2).textContent()).toBe("0");
    expect(await text.locator("td code").textContent()).toMatch(/^[0-9a-f]{16}$/);
    expect(await binary.locator('[data-field="encoding"]').textContent()).toBe("base64");
    expect(await binary.locator('[data-field="body"]').textContent()).toBe("AAEC/w==");
    // A long body: its start, the whole in a <details>.
    const preview = (await truncated.locator('[data-field="body"]').textContent())!;
    expect(preview.endsWith("…")).toBe(true);
    expect(preview.length).toBeLessThan(long.length);
    expect(await truncated.locator('[data-field="full-body"]').isVisible()).toBe(false);
    await truncated.locator("summary").click();
    expect(await truncated.locator('[data-field="full-body"]').textContent()).toBe(long);
    await shot(page, "desktop-channel-peek");

    // A publish: peeked again, the body opened stays open.
    await post(`/pub?topic=${topic}`, "fourth");
    await page.waitForSelector(`${rows}:nth-child(4)`);
    expect(await page.locator(`${rows} [data-field="full-body"]`).isVisible()).toBe(true);
    // Peeking again takes nothing either.
    await page.click('[data-button="peek"]');
    await waitText(page, '[data-field="peeked-at"]', /read at/);
    expect(await page.locator(rows).count()).toBe(4);
    expect((await channelStats(topic, "c"))!).toMatchObject({ depth: 4, in_flight_count: 0, paused: true });
    await waitText(page, '.stat [data-field="depth"]', "4");
    // Not a dead-letter channel: no redrive.
    expect(await page.locator('[data-form="redrive"]').isVisible()).toBe(false);
    expect(errorsOf(page)).toEqual([]);
  });

  it("a dead letter's origin on the dead-letter topic's channel, and its redrive back", async () => {
    const topic = unique("poison");
    const dead = `${topic}.dead`;
    await create(topic, "c");
    await post(`/channel/config?topic=${topic}&channel=c`, JSON.stringify({ max_attempts: 1 }));
    await create(dead, "inspect");
    const consumer = await svc.connect();
    clients.push(consumer);
    await consumer.subscribe(topic, "c", 1);
    await post(`/pub?topic=${topic}`, "poison");
    const m = await consumer.message();
    consumer.send(cmd.req(m.id, 0));
    await until(() => channelStats(dead, "inspect"), (c) => expect(c!.depth).toBe(1));

    const page = await open(`/admin/topics/${dead}/inspect`);
    const origin = '[data-table="messages"] [data-field="origin"]';
    await waitText(page, `${origin} a`, `${topic} / c`);
    expect(await page.locator(`${origin} [data-field="origin-id"]`).textContent()).toBe(m.id);
    expect(await page.locator(`${origin} [data-field="origin-reason"]`).textContent()).toMatch(/^1 attempt: .*requeued after 1 attempts/);
    expect(await page.locator('[data-table="messages"] [data-field="body"]').textContent()).toBe("poison");
    await waitText(page, '[data-field="redrive-state"]', /No redrive/);
    await shot(page, "desktop-dead-letters");

    // Redrive to its channel: asked first, then the consumer has it again.
    await page.selectOption('[data-form="redrive"] select', "channel");
    await page.click('[data-form="redrive"] button[type="submit"]');
    await page.waitForSelector("dialog.confirm[open]");
    expect(await page.locator("dialog.confirm").textContent()).toContain("the channel each died in");
    await page.click('dialog [data-confirm="ok"]');
    const again = await consumer.message();
    expect(text(again)).toBe("poison");
    consumer.send(cmd.fin(again.id));
    await waitText(page, '[data-field="redrive-state"]', /1 moved to their channel/);
    await waitText(page, '.stat [data-field="depth"]', "0");
    expect(errorsOf(page)).toEqual([]);
  });
});

/** Each page at phone width: no sideways scrolling, no script error; a screenshot. */
async function phonePages(topic: string) {
  for (const [urlPath, name, ready, settle] of [
    ["/admin/", "topics", `tr[data-topic="${topic}"]`, 2500], // a few polls: rates and charts have points
    [`/admin/topics/${topic}`, "topic", 'tr[data-channel="mobile"]', 2500],
    [`/admin/topics/${topic}/mobile`, "channel", 'tr[data-client="phone-1"]', 2500],
    ["/admin/nodes", "nodes", "[data-table=nodes]", 200],
    [`/admin/lookup?topic=${topic}`, "lookup", '[data-field="lookup"]', 200],
  ] as const) {
    const page = await open(urlPath, PHONE);
    await page.waitForSelector(ready);
    await page.waitForTimeout(settle);
    expect(await contentWidth(page), name).toBeLessThanOrEqual(PHONE.width);
    await shot(page, `phone-${name}`);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many points a chart draws for the series `name` (a lone point is a dot). */
const chartPoints = (page: Page, name: string) =>
  page.evaluate((n) => {
    const el = document.querySelector(`.chart [data-series="${n}"]`);
    return !el ? 0 : el.tagName === "circle" ? 1 : el.getAttribute("points")!.trim().split(/\s+/).length;
  }, name);

/** Every channel's message_count, summed: what the counter shows. */
async function processed(): Promise<number> {
  const stats = (await svc.fetch("/stats?format=json").then((r) => r.json())) as Stats;
  return (stats.topics ?? []).reduce((n, t) => n + t.channels.reduce((m, c) => m + c.message_count, 0), 0);
}

describe("admin UI: counter, node, charts' history", () => {
  it("serves the counter's and a node's paths as the page (a reload or a link from elsewhere)", async () => {
    for (const urlPath of ["/admin/counter", "/admin/nodes/127.0.0.1%3A4151"]) {
      const res = await svc.fetch(urlPath);
      expect(res.headers.get("content-type"), urlPath).toContain("text/html");
      expect(await res.text()).toContain("/admin/app.js");
    }
  });

  it("counter: every channel's messages summed, running up live, with its rate", async () => {
    const topic = unique("counted");
    await create(topic, "a", "b");
    const before = await processed();
    const page = await open("/admin/");
    await page.click('header nav a[data-section="counter"]');
    await page.waitForURL("**/admin/counter");
    await waitText(page, '[data-field="counter"]', before.toLocaleString("en-US"));
    expect(await page.getAttribute('header nav a[data-section="counter"]', "aria-current")).toBe("page");

    // Publishing for a few polls: a rate; each message counts once for each of the two channels.
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await post(`/mpub?topic=${topic}`, "x\ny\nz");
        published += 3;
        await sleep(250);
      }
    })();
    try {
      await waitText(page, '.counter [data-field="rate"]', /^[1-9][\d.,]*$/);
    } finally {
      publishing = false;
      await publisher;
    }
    expect(await processed()).toBe(before + 2 * published);
    await waitText(page, '[data-field="counter"]', (before + 2 * published).toLocaleString("en-US"));
    expect(await chartPoints(page, "processed")).toBeGreaterThan(1);
    await shot(page, "desktop-counter");
    await page.setViewportSize(PHONE);
    await sleep(1200); // redrawn at the phone's width
    expect(await contentWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await shot(page, "phone-counter");
    expect(errorsOf(page)).toEqual([]);
  });

  it("node: its /info, every topic with its channels' figures, the clients; linked from the nodes page", async () => {
    const topic = unique("noded");
    await create(topic, "c1", "c2");
    await post(`/mpub?topic=${topic}`, "1\n2\n3");
    const consumer = await svc.connect();
    clients.push(consumer);
    await consumer.subscribe(topic, "c2", 1, { client_id: "node-test" });
    await consumer.message(); // c2: one in flight, the rest queued
    const c2 = await until(() => channelStats(topic, "c2"), (c) => expect(c!.in_flight_count).toBe(1));
    const info = (await svc.fetch("/info").then((r) => r.json())) as { version: string; hostname: string; broadcast_address: string; http_port: number };
    const node = `${info.broadcast_address}:${info.http_port}`;

    const page = await open("/admin/nodes");
    await page.click('[data-table="nodes"] td.name a');
    await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/admin/nodes/${node}`);
    await waitText(page, '.stat [data-field="version"]', info.version);
    await waitText(page, '.stat [data-field="hostname"]', info.hostname);
    await waitText(page, '.stat [data-field="http-port"]', String(info.http_port));
    await waitText(page, '.stat [data-field="started"]', /ago$/);
    const row = (ch: string) => `tr[data-topic="${topic}"][data-channel="${ch}"]`;
    await waitText(page, `tr.topic-row[data-topic="${topic}"] [data-field="messages"]`, "3");
    await waitText(page, `${row("c1")} [data-field="depth"]`, "3");
    await waitText(page, `${row("c2")} [data-field="depth"]`, String(c2!.depth));
    await waitText(page, `${row("c2")} [data-field="in-flight"]`, "1");
    await waitText(page, `${row("c2")} [data-field="clients"]`, "1");
    await waitText(page, `${row("c1")} [data-field="clients"]`, "0");
    const stats = (await svc.fetch("/stats?format=json").then((r) => r.json())) as Stats;
    const connections = (stats.topics ?? []).reduce((n, t) => n + t.channels.reduce((m, c) => m + c.client_count, 0), 0);
    await waitText(page, '[data-field="totals"] [data-field="clients"]', connections.toLocaleString("en-US"));
    expect(await page.getAttribute('header nav a[data-section="nodes"]', "aria-current")).toBe("page");
    await shot(page, "desktop-node");
    await page.setViewportSize(PHONE);
    await sleep(1200);
    expect(await contentWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await shot(page, "phone-node");

    await page.click(`${row("c2")} a`);
    await page.waitForURL(`**/admin/topics/${topic}/c2`);
    await waitText(page, 'tr[data-client="node-test"] [data-field="in-flight"]', "1");
    expect(errorsOf(page)).toEqual([]);
  });

  it("charts: their history is kept in localStorage and drawn again after a reload", async () => {
    const topic = unique("kept");
    await create(topic, "c");
    const page = await open(`/admin/topics/${topic}`);
    await page.waitForFunction(() => (document.querySelector('.chart [data-series="topic"]')?.getAttribute("points")?.trim().split(/\s+/).length ?? 0) >= 6, null, { timeout: 20_000 });
    const kept = await page.evaluate(() => JSON.parse(localStorage.getItem("nsq-edge-admin.history")!));
    expect(kept.series[topic].length).toBeGreaterThanOrEqual(6);

    // After the reload the chart has more points than polls since: the rest came from storage.
    const polls: string[] = [];
    page.on("request", (r) => void (new URL(r.url()).pathname === "/stats" && polls.push(r.url())));
    await page.reload();
    await page.waitForSelector('.chart [data-series="topic"]', { state: "attached" }); // (a flat line has no height: "hidden")
    const drawn = await chartPoints(page, "topic");
    expect(drawn).toBeGreaterThanOrEqual(polls.length + 4);

    // What is older than the window is not drawn again; what does not parse is ignored. (Planted
    // as the reload starts: the page's own polls would write over it before.)
    await page.addInitScript(() => {
      const planted = sessionStorage.getItem("planted-history");
      if (planted === null) return;
      localStorage.setItem("nsq-edge-admin.history", planted);
      sessionStorage.removeItem("planted-history");
    });
    const old = Date.now() - 6 * 60_000;
    for (const planted of [
      JSON.stringify({ v: 1, owner: "open", series: { [topic]: [0, 1, 2].map((i) => [old + i * 1000, 0, 0, 0, 0, 0, 0]) } }),
      "{not json",
      JSON.stringify({ v: 1, owner: "open", series: { [topic]: [[1, "x"], null, 7] } }),
    ]) {
      await page.evaluate((text) => sessionStorage.setItem("planted-history", text), planted);
      polls.length = 0;
      await page.reload();
      await page.waitForSelector('.chart [data-series="topic"]', { state: "attached" }); // (a flat line has no height: "hidden")
      expect(await chartPoints(page, "topic"), planted).toBeLessThanOrEqual(polls.length);
      const now = await page.evaluate(() => JSON.parse(localStorage.getItem("nsq-edge-admin.history")!));
      expect(Math.min(...now.series[topic].map((row: number[]) => row[0])), planted).toBeGreaterThan(old + 60_000);
    }
    expect(errorsOf(page)).toEqual([]);
  });
});

describe("admin UI: E2E processing latency", () => {
  let timed: Service;
  beforeAll(async () => {
    timed = await Service.create({ E2E_PROCESSING_LATENCY_PERCENTILES: "1.0,0.99" });
  });
  afterAll(async () => {
    await timed?.stop();
  });

  it("without percentiles configured: not recorded", async () => {
    const topic = unique("untimed");
    await create(topic, "c");
    const page = await open(`/admin/topics/${topic}/c`);
    await waitText(page, '[data-field="e2e"]', "E2E processing latency: not recorded.");
    expect(errorsOf(page)).toEqual([]);
  });

  it("the topic's and the channel's percentiles, human-readable", async () => {
    const topic = unique("timed");
    await post(`/topic/create?topic=${topic}`, undefined, timed);
    await post(`/channel/create?topic=${topic}&channel=c`, undefined, timed);
    const consumer = await timed.connect();
    clients.push(consumer);
    await consumer.subscribe(topic, "c", 10);
    await post(`/mpub?topic=${topic}`, "1\n2\n3", timed);
    for (let i = 0; i < 3; i++) consumer.send(cmd.fin((await consumer.message()).id));
    const timedStats = async () => ((await timed.fetch(`/stats?format=json&topic=${topic}`).then((r) => r.json())) as Stats).topics?.[0];
    const t = await until(timedStats, (t) => {
      expect(t!.channels[0].e2e_processing_latency.count).toBeGreaterThanOrEqual(3);
      expect(t!.e2e_processing_latency.percentiles?.length).toBe(2);
    });

    const human = /^(\d+h)?(\d+m)?(\d+(\.\d+)?(ns|µs|ms|s))?$/;
    for (const urlPath of [`/admin/topics/${topic}/c`, `/admin/topics/${topic}`]) {
      const page = await open(urlPath, DESKTOP, timed);
      await page.waitForSelector('[data-field="e2e"] td[data-quantile="0.99"]');
      expect(await page.locator('[data-field="e2e"] th').allTextContents()).toEqual(["p100", "p99"]);
      await waitText(page, '[data-field="e2e-count"]', /^\(\d+ samples?\)$/);
      for (const q of ["1", "0.99"]) {
        const text = (await page.locator(`[data-field="e2e"] td[data-quantile="${q}"]`).textContent())!;
        expect(text, `${urlPath} ${q}`).toMatch(human);
        expect(text).not.toBe("");
      }
      await shot(page, urlPath.endsWith("/c") ? "desktop-channel-e2e" : "desktop-topic-e2e");
      expect(errorsOf(page)).toEqual([]);
      await page.close();
    }
    expect(t!.e2e_processing_latency.percentiles!.map((p) => p.quantile)).toEqual([1, 0.99]);
  });
});
