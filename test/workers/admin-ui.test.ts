// The admin UI's routes inside workerd: /admin pages and files come from the ASSETS binding
// (wrangler.toml [assets], built by `npm run build:admin`) through the Worker, and leave the
// HTTP API's paths alone. The UI itself is tested in Chromium (test/admin).
import { describe, expect, it } from "vitest";
import { http } from "../helpers/workers";

describe("/admin", () => {
  it("redirects /admin to /admin/", async () => {
    const res = await http("/admin", { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/admin/");
  });

  it("answers the page for every path the UI routes", async () => {
    for (const path of ["/admin/", "/admin/topics/orders", "/admin/topics/orders/billing%23ephemeral", "/admin/nodes", "/admin/lookup?topic=orders"]) {
      const res = await http(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toContain("text/html");
      const html = await res.text();
      expect(html).toMatch(/<script type="module" src="\/admin\/app\.js\?v=[0-9a-f]+"><\/script>/);
      expect(html).toMatch(/href="\/admin\/app\.css\?v=[0-9a-f]+"/);
    }
  });

  it("serves the script and the style sheet", async () => {
    const js = await http("/admin/app.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(1000);
    const css = await http("/admin/app.css");
    expect(css.headers.get("content-type")).toContain("text/css");
    await css.arrayBuffer();
  });

  it("answers an unknown file as the API answers an unknown path", async () => {
    const res = await http("/admin/nothing.js");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: "NOT_FOUND" });
  });

  it("leaves the API's paths to the API", async () => {
    expect(await (await http("/ping")).text()).toBe("OK");
    const res = await http("/adminx");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: "NOT_FOUND" });
    expect((await http("/admin/", { method: "POST" })).status).toBe(404);
  });
});
