// The client library in a browser: headless Chromium (Debian's, driven by playwright-core)
// loads a static page (browser/page.html) that imports the built library as an ES module,
// publishes 1,000 messages to the service and consumes them; the test reads the page's result.
//
// A tiny HTTP server here serves the page and the package's dist/ (node_modules/@nsq-edge/client,
// the workspace link to client/), and answers the page's /lookup by asking the service, so the
// page's discovery goes through its own origin. The lookup answer names the service as the
// producer, so the WebSockets go straight to it (WebSockets need no CORS).
//
// The README's browser snippet runs here too, as is, in a page of this origin: it imports the
// package's dist/ served at /nsq-edge/ (as its comment says) and talks to the service directly,
// through the service's CORS answers; only its placeholder service URL is replaced.
//
// With auth on (a service of this file's own, built-in tokens), browser/auth.html shows the path
// a browser has: its WebSocket cannot carry the Bearer, so the library sends AUTH after IDENTIFY.
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { chromiumPath } from "../helpers/chromium.mjs";
import { readmeSnippet } from "../helpers/readme";
import { Service } from "../e2e/service";
import { SECRETS, tokensJson } from "./auth-tokens";
import { channelStats, serviceUrl, unique } from "./helpers";

const root = path.resolve(import.meta.dirname, "..", "..");
const pkg = path.join(root, "node_modules", "@nsq-edge", "client"); // its dist/ is served as is
// No Chromium: the file fails with one line saying how to get one (a skipped test is no pass).
const CHROMIUM = chromiumPath();

let server: http.Server;
let pageOrigin = "";
let browser: Browser | undefined;
let authService: Service | undefined;

beforeAll(async () => {
  const service = serviceUrl();
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, "http://x");
    try {
      if (url.pathname === "/page.html" || url.pathname === "/auth.html") {
        res.setHeader("Content-Type", "text/html; charset=utf-8");
        res.end(await readFile(path.join(import.meta.dirname, "browser", url.pathname.slice(1))));
      } else if (url.pathname === "/snippet.html") {
        res.setHeader("Content-Type", "text/html; charset=utf-8");
        res.end(`<!doctype html>\n${readmeSnippet("client-browser").replaceAll("https://nsq.example.com", service)}`);
      } else if (/^\/(dist|nsq-edge)\/.*\.js$/.test(url.pathname) && !url.pathname.includes("..")) {
        res.setHeader("Content-Type", "text/javascript; charset=utf-8");
        res.end(await readFile(path.join(pkg, "dist", url.pathname.replace(/^\/(dist|nsq-edge)\//, ""))));
      } else if (url.pathname === "/lookup") {
        const answer = await fetch(`${service}/lookup${url.search}`);
        res.statusCode = answer.status;
        res.setHeader("Content-Type", "application/json");
        res.end(await answer.text());
      } else {
        res.statusCode = 404;
        res.end("not found");
      }
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  pageOrigin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await authService?.stop();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
});

for (const shards of [1, 4])
it(`publishes and consumes 1,000 messages in headless Chromium${shards > 1 ? ` (a topic of ${shards} shards)` : ""}`, async () => {
  const topic = unique("browser");
  if (shards > 1) expect((await fetch(`${serviceUrl()}/topic/create?topic=${topic}&shards=${shards}`, { method: "POST" })).status).toBe(200);
  const page = await browser!.newPage();
  const console: string[] = [];
  page.on("console", (m) => void console.push(m.text()));
  page.on("pageerror", (e) => void console.push(String(e)));
  await page.goto(`${pageOrigin}/page.html?service=${encodeURIComponent(serviceUrl())}&topic=${topic}&n=1000`);
  await page.waitForFunction(() => (window as any).result !== undefined, undefined, { timeout: 45_000 }).catch((e) => {
    throw new Error(`${e}\npage console:\n${console.join("\n")}`);
  });
  const result = await page.evaluate(() => (window as any).result);
  expect(result.error, console.join("\n")).toBeUndefined();
  expect(result).toMatchObject({ received: 1000, unique: 1000, finished: 1000, globalWebSocket: true });
  expect(result.connections).toEqual([]); // closed by leaving the loop
  process.stdout.write(`browser: 1,000 messages published and consumed in ${result.ms} ms (${shards} shard${shards > 1 ? "s" : ""})\n`);
  // Everything was finished: the channel is empty.
  const stats = (await fetch(`${serviceUrl()}/stats?format=json&topic=${topic}`).then((r) => r.json())) as any;
  expect(stats.topics[0].channels[0]).toMatchObject({ channel_name: "browser", depth: 0, in_flight_count: 0 });
  await page.close();
});

it("the README's browser snippet, as is, publishes and consumes JSON in headless Chromium", async () => {
  const page = await browser!.newPage();
  const logged: unknown[] = [];
  const errors: string[] = [];
  page.on("console", async (m) => {
    if (m.type() === "log") logged.push(...(await Promise.all(m.args().map((a) => a.jsonValue()))));
    else errors.push(m.text());
  });
  page.on("pageerror", (e) => void errors.push(String(e)));
  await page.goto(`${pageOrigin}/snippet.html`);
  await expect.poll(() => logged, { timeout: 30_000, message: errors.join("\n") }).toContainEqual({ x: 1 });
  expect(errors).toEqual([]);
  // The loop asked for the next message: the click was finished (the page goes on consuming).
  await expect
    .poll(() => channelStats(serviceUrl(), "clicks", "dashboard#ephemeral"), { timeout: 10_000 })
    .toMatchObject({ message_count: 1, depth: 0, in_flight_count: 0 });
  await page.close();
});

it("with auth on, the AUTH command after IDENTIFY (a browser cannot send the header): publishes, consumes, refuses", async () => {
  authService = await Service.create({ AUTH_TOKENS: await tokensJson() });
  const topic = unique("orders");
  const page = await browser!.newPage();
  const console: string[] = [];
  page.on("console", (m) => void console.push(m.text()));
  page.on("pageerror", (e) => void console.push(String(e)));
  const q = new URLSearchParams({ service: authService.url, topic, secret: SECRETS.right });
  await page.goto(`${pageOrigin}/auth.html?${q}`);
  await page.waitForFunction(() => (window as any).result !== undefined, undefined, { timeout: 45_000 }).catch((e) => {
    throw new Error(`${e}\npage console:\n${console.join("\n")}`);
  });
  const result = await page.evaluate(() => (window as any).result);
  expect(result.error, console.join("\n")).toBeUndefined();
  expect(result.got).toEqual(["a", "b", "c"]);
  expect(result.noSecret).toMatchObject({ authError: true, code: "E_AUTH_REQUIRED" });
  // The server's answer to the AUTH command (a Bearer on the upgrade would have been a 401).
  expect(result.wrongSecret).toEqual({ authError: true, code: "E_AUTH_FAILED", message: "E_AUTH_FAILED AUTH failed" });
  await page.close();
});
