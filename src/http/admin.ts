// The admin UI at /admin (nsqadmin's pages for nsq-edge). Its files are the Worker's static
// assets (wrangler.toml [assets]: admin/dist, built from admin/src), and wrangler.toml sets
// run_worker_first: every request reaches this Worker and its middleware first, and only these
// routes hand some to the ASSETS binding. So an auth middleware put in front of the HTTP API
// (app.use("*", ...) in src/index.ts) covers the admin pages as well, and the API calls the
// pages make are ordinary same-origin requests to that API.
//
//   GET /admin                         → /admin/
//   GET /admin/, /admin/topics/..., /admin/nodes, /admin/lookup   the page (the UI routes itself)
//   GET /admin/app.js, /admin/app.css  its files
import type { Context } from "hono";
import type { Env } from "../config";
import type { RouteFn } from "./nsqd";
import { nsqError } from "./respond";

type C = Context<{ Bindings: Env }>;

/** The page itself, whatever the /admin path the UI routes (revalidation headers kept). */
const page = (c: C) => c.env.ASSETS.fetch(new Request(new URL("/admin/", c.req.url), c.req.raw));

export function adminRoutes(route: RouteFn) {
  route("GET", "/admin", "page", (c) => c.redirect("/admin/", 301));
  route("GET", "/admin/", "page", page);
  route("GET", "/admin/topics/*", "page", page);
  route("GET", "/admin/nodes", "page", page);
  route("GET", "/admin/nodes/*", "page", page);
  route("GET", "/admin/counter", "page", page);
  route("GET", "/admin/lookup", "page", page);
  route("GET", "/admin/*", "page", async (c) => {
    const res = await c.env.ASSETS.fetch(c.req.raw);
    return res.status === 404 ? nsqError(404, "NOT_FOUND") : res;
  });
}
