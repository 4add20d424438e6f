// A channel's queued messages as GET /channel/peek shows them, taking none and changing nothing:
// the first few, each with its id, publish time, attempts and body, and for a dead letter where it
// came from. Peeked again on the button and whenever the channel's figures change, not on every
// poll; the bodies the operator opened stay open.
import * as api from "../api";
import { channelPath, link } from "../app";
import { notify } from "../dialog";
import { commafy, fill, h, since } from "../dom";

const PEEK_N = 20;
/** Longer bodies show their start, the whole in a <details>. */
const PREVIEW_CHARS = 160;

export interface PeekPart {
  el: HTMLElement;
  /** The channel as /stats has it now: peeks again if its figures changed since the last peek. */
  update(c: api.ChannelStats): void;
  /** The last peek held dead letters (messages with an origin). */
  hasOrigins(): boolean;
}

/** `loaded` runs after each peek, so that the page can show what depends on it (redrive). */
export function peekPart(topic: string, channel: string, loaded: () => void): PeekPart {
  const list = h("div", { class: "live", "data-field": "peek" }, h("p", { class: "muted" }, "Loading…"));
  const when = h("small", { "data-field": "peeked-at" });
  const button = h("button", { type: "button", class: "btn", "data-button": "peek" }, "Peek");
  let origins = false;
  let busy = false;
  let figures = "";

  async function load() {
    busy = button.disabled = true;
    try {
      const { messages } = await api.peek(topic, channel, PEEK_N);
      origins = messages.some((m) => m.origin);
      const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.closest("tr")?.dataset.message));
      fill(when, ` (the first ${PEEK_N}, read at ${new Date().toLocaleTimeString("en-GB")}, none taken)`);
      fill(list, messages.length === 0 ? h("div", { class: "empty-state" }, "No queued messages.") : messageTable(messages, open));
    } catch (e) {
      if (!(e instanceof api.ApiError && e.status === 401)) notify(`peek ${channel} of topic ${topic}: ${e instanceof Error ? e.message : e}`, "error");
    } finally {
      busy = button.disabled = false;
    }
    loaded();
  }
  button.addEventListener("click", () => void load());

  return {
    el: h("div", null, h("div", { class: "page-head" }, h("h2", null, "Messages", when), button), list),
    update(c) {
      const now = [c.depth, c.message_count, c.in_flight_count, c.deferred_count, c.requeue_count, c.timeout_count].join();
      if (busy || now === figures) return;
      figures = now;
      void load();
    },
    hasOrigins: () => origins,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `open`: the messages whose whole body is shown. */
function messageTable(messages: api.PeekedMessage[], open: Set<string | undefined>) {
  const now = Date.now();
  const origins = messages.some((m) => m.origin);
  return h(
    "table",
    { class: "grid cards", "data-table": "messages" },
    h("thead", null, h("tr", null, ["ID", "Published", "Attempts", "Body", origins ? "Origin" : null].map((x, i) => x && h("th", { class: i === 2 ? "num" : null }, x)))),
    h(
      "tbody",
      null,
      messages.map((m) =>
        h(
          "tr",
          { "data-message": m.id },
          h("td", { "data-label": "ID", class: "name" }, h("code", null, m.id)),
          h(
            "td",
            { "data-label": "Published", title: iso(m.timestamp) },
            `${since(m.timestamp / 1000, now)} ago`,
            m.deferred_until ? h("small", { title: iso(m.deferred_until) }, ` · deferred until ${new Date(m.deferred_until).toLocaleTimeString("en-GB")}`) : null,
          ),
          h("td", { "data-label": "Attempts", class: "num" }, commafy(m.attempts)),
          h("td", { "data-label": "Body", class: "body-cell" }, bodyOf(m, open.has(m.id))),
          origins ? h("td", { "data-label": "Origin" }, m.origin ? originOf(m.origin, now) : "–") : null,
        ),
      ),
    ),
  );
}

/** A body's bytes: a base64 one's decoded length. */
function bytesOf(m: api.PeekedMessage): number {
  if (m.body_encoding === "utf8") return new TextEncoder().encode(m.body).length;
  return Math.floor((m.body.length * 3) / 4) - (m.body.endsWith("==") ? 2 : m.body.endsWith("=") ? 1 : 0);
}

function bodyOf(m: api.PeekedMessage, open: boolean) {
  const mark = m.body_encoding === "base64" ? h("span", { class: "badge", "data-field": "encoding", title: "not printable UTF-8: its bytes in base64" }, "base64") : null;
  if (m.body === "") return h("span", { class: "muted" }, "(empty)");
  const chars = [...m.body];
  if (chars.length <= PREVIEW_CHARS) return [mark, h("pre", { class: "body", "data-field": "body" }, m.body)];
  return [
    mark,
    h(
      "details",
      { class: "body", open },
      h("summary", null, h("span", { "data-field": "body" }, `${chars.slice(0, PREVIEW_CHARS).join("")}…`), h("small", null, ` (${commafy(bytesOf(m))} bytes)`)),
      h("pre", { class: "body", "data-field": "full-body" }, m.body),
    ),
  ];
}

/** Where a dead letter came from: its channel (a link), its id and attempts there, why it died. */
function originOf(o: api.Origin, now: number) {
  return h(
    "div",
    { class: "origin", "data-field": "origin" },
    h("div", null, link(channelPath(o.topic, o.channel), `${o.topic} / ${o.channel}`), " ", h("code", { "data-field": "origin-id" }, o.id)),
    h("div", { "data-field": "origin-reason" }, `${commafy(o.attempts)} attempt${o.attempts === 1 ? "" : "s"}: ${o.reason}`),
    h("div", { class: "muted" }, h("span", { title: iso(o.dead_at) }, `dead ${since(o.dead_at / 1000, now)} ago`), ", ", h("span", { title: iso(o.timestamp) }, `published there ${since(o.timestamp / 1000, now)} ago`)),
  );
}
