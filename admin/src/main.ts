// nsq-edge admin: a single page under /admin that polls the service's own HTTP API (same origin)
// and redraws its live regions; the router maps /admin/... paths to views. When the service wants
// a token (GET /identity answers 401), a login form stands in for the pages until one is accepted.
import * as api from "./api";
import { BASE, type Ctx, type View } from "./app";
import { dropToken, setIdentity, setToken } from "./auth";
import { notify } from "./dialog";
import { h } from "./dom";
import { forgetAll, restore } from "./history";
import { loginForm, type LoginForm } from "./login";
import { channelView } from "./views/channel";
import { counterView } from "./views/counter";
import { lookupView } from "./views/lookup";
import { nodeView } from "./views/node";
import { nodesView } from "./views/nodes";
import { topicView } from "./views/topic";
import { topicsView } from "./views/topics";

const INTERVALS = [1000, 2000, 5000, 10000, 0];
const STORED_INTERVAL = "nsq-edge-admin.interval";

const main = document.getElementById("main")!;
const status = document.getElementById("status")!;
const intervalSelect = document.getElementById("interval") as HTMLSelectElement;
const who = document.getElementById("who")!;
const whoName = who.querySelector<HTMLElement>('[data-field="identity"]')!;

let view: View | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
let again = false;
let failing = false;
// The login form while it is shown; `loggedIn` once /identity accepted the token.
let login: LoginForm | null = null;
let loggedIn = false;
let interval = Number(localStorage.getItem(STORED_INTERVAL) ?? 2000);
if (!INTERVALS.includes(interval)) interval = 2000;

const ctx: Ctx = {
  navigate(path) {
    history.pushState(null, "", path);
    route();
  },
  refreshNow: () => void refresh(),
  chartWidth: () => (main.querySelector(".charts") ?? main).clientWidth,
};

function viewFor(pathname: string, search: URLSearchParams): View {
  const parts = pathname.slice(BASE.length).split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "topics" && parts.length === 2) return topicView(ctx, parts[1]);
  if (parts[0] === "topics" && parts.length === 3) return channelView(ctx, parts[1], parts[2]);
  if (parts[0] === "nodes" && parts.length === 2) return nodeView(ctx, parts[1]);
  if (parts[0] === "nodes") return nodesView();
  if (parts[0] === "counter") return counterView(ctx);
  if (parts[0] === "lookup") return lookupView(ctx, search.get("topic"));
  return topicsView(ctx);
}

function route() {
  if (login) return;
  view = viewFor(location.pathname, new URLSearchParams(location.search));
  document.title = `${view.title} · nsq-edge admin`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("header nav a")) {
    const section = a.dataset.section!;
    const here = section === "topics" ? !/^\/admin\/(nodes|lookup|counter)/.test(location.pathname) : location.pathname.startsWith(`${BASE}/${section}`);
    a.classList.toggle("active", here);
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.replaceChildren(view.el);
  void refresh();
}

/** Refreshes the current view now, then every `interval` (unless the tab is hidden). */
async function refresh() {
  clearTimeout(timer);
  if (running) {
    again = true;
    return;
  }
  if (!view) return;
  running = true;
  const current = view;
  try {
    await current?.refresh();
    if (failing) notify("Connected again");
    failing = false;
    status.textContent = `updated ${new Date().toLocaleTimeString("en-GB")}`;
    status.className = "status ok";
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) return; // the login form is up
    if (!failing) notify(`Refresh failed: ${e instanceof Error ? e.message : e}`, "error");
    failing = true;
    status.textContent = "refresh failed, retrying";
    status.className = "status error";
  } finally {
    running = false;
  }
  if (again || current !== view) {
    again = false;
    return refresh();
  }
  schedule();
}

function schedule() {
  clearTimeout(timer);
  if (interval > 0 && document.visibilityState !== "hidden") timer = setTimeout(refresh, interval);
}

for (const ms of INTERVALS) {
  intervalSelect.append(h("option", { value: ms, selected: ms === interval }, ms ? `every ${ms / 1000}s` : "paused"));
}
intervalSelect.addEventListener("change", () => {
  interval = Number(intervalSelect.value);
  localStorage.setItem(STORED_INTERVAL, String(interval));
  void refresh();
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") void refresh();
  else clearTimeout(timer);
});

// In-app links: same-origin /admin paths, plain left clicks.
document.addEventListener("click", (e) => {
  const a = (e.target as Element).closest?.("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`)) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) ctx.navigate(url.pathname + url.search);
});
addEventListener("popstate", route);

// Charts are drawn at the column's width: redraw after a resize settles.
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
let lastWidth = main.clientWidth;
addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (main.clientWidth !== lastWidth) {
      lastWidth = main.clientWidth;
      void refresh();
    }
  }, 150);
});

/** Replaces the pages with the login form (the token is already dropped), with why if there is a reason. */
function showLogin(error: string | null = null) {
  clearTimeout(timer);
  view = null;
  loggedIn = false;
  setIdentity(null);
  forgetAll();
  who.hidden = true;
  document.body.classList.add("logged-out");
  document.title = "Log in · nsq-edge admin";
  status.textContent = "";
  if (!login) {
    login = loginForm((secret) => {
      setToken(secret);
      void start();
    });
    main.replaceChildren(login.el);
  }
  login.setError(error);
}

// A 401 on any call: the token was refused (or none was sent), so the tab asks for one.
api.onUnauthorized((sent) => showLogin(!sent ? null : loggedIn ? "The service no longer accepts the token: log in again." : "The service did not accept that token."));

/** Asks /identity who the tab's token is, then shows the pages (or the login form, on a 401). */
async function start() {
  let answer: Awaited<ReturnType<typeof api.identity>>;
  try {
    answer = await api.identity();
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) return;
    const message = `The service did not answer /identity: ${e instanceof Error ? e.message : e}`;
    if (login) login.setError(message);
    else main.replaceChildren(h("div", { class: "empty-state" }, message, " ", h("button", { type: "button", class: "btn", onclick: () => void start() }, "Try again")));
    return;
  }
  if (answer.auth_required) {
    const problem = setIdentity(answer);
    if (problem) {
      dropToken();
      showLogin(`The service's answer for this token could not be read: ${problem}`);
      return;
    }
    whoName.textContent = answer.identity || "(unnamed identity)";
    whoName.title = answer.identity_url || "";
    who.hidden = false;
  } else {
    setIdentity(null);
    who.hidden = true;
  }
  loggedIn = answer.auth_required;
  // The charts go on from the history the last page load kept, if it was this identity's.
  restore(answer.auth_required ? `identity ${answer.identity}` : "open");
  login = null;
  document.body.classList.remove("logged-out");
  route();
}

who.querySelector('[data-action="logout"]')!.addEventListener("click", () => {
  dropToken();
  showLogin();
});

void start();
