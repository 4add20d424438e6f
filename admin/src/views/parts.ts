// Pieces shared by the pages: a topic's or channel's actions, stat cards, latency table, the
// form that creates a topic or channel.
import type { ChannelStats, Latency } from "../api";
import { runAction, type Counts, type Ctx } from "../app";
import { mayAct, mayCreateTopics } from "../auth";
import { commafy, h, nanos, quantileLabel, rate } from "../dom";
import { lineChart } from "../chart";
import { channelKey, currentRate, gaugeSeries, rateSeries } from "../history";

/** A history key's two charts, side by side when there is room: its rates and its queue. */
export function rateAndQueueCharts(ctx: Ctx, key: string, titles: [rates: string, queue: string]): HTMLElement[] {
  const width = ctx.chartWidth();
  const half = width >= 720 ? (width - 16) / 2 : width;
  return [
    lineChart({
      title: titles[0],
      unit: "/s",
      format: rate,
      width: half,
      series: [
        { name: "messages", points: rateSeries(key) },
        { name: "requeued", points: rateSeries(key, "requeued") },
        { name: "timed out", points: rateSeries(key, "timedOut") },
      ],
    }),
    lineChart({
      title: titles[1],
      width: half,
      format: commafy,
      series: [
        { name: "depth", points: gaugeSeries(key, "depth") },
        { name: "in flight", points: gaugeSeries(key, "inFlight") },
        { name: "deferred", points: gaugeSeries(key, "deferred") },
      ],
    }),
  ];
}

/** A figure's cell in a table row: labelled for the phone layout, named for the tests. */
export const numCell = (label: string, field: string, value: number) => h("td", { "data-label": label, "data-field": field, class: "num" }, commafy(value));

/** A channel's figures as the cells of its row (the topic page's and the node page's tables). */
export function channelCells(topic: string, c: ChannelStats, clients: [label: string, field: string]): HTMLElement[] {
  return [
    numCell("Depth", "depth", c.depth),
    numCell("In flight", "in-flight", c.in_flight_count),
    numCell("Deferred", "deferred", c.deferred_count),
    numCell("Requeued", "requeued", c.requeue_count),
    numCell("Timed out", "timed-out", c.timeout_count),
    numCell("Messages", "messages", c.message_count),
    numCell(clients[0], clients[1], c.client_count),
    h("td", { "data-label": "Rate", "data-field": "rate", class: "num" }, `${rate(currentRate(channelKey(topic, c.channel_name)))}/s`),
  ];
}

/**
 * Pause/unpause, empty and delete for a topic (no `channel`) or a channel. `counts` is read when
 * pressed, for the confirmation. After a delete from its own page, `onDeleted` leaves the page.
 * None when the identity lacks `admin` there (the service would answer 403).
 */
export function actionButtons(
  ctx: Ctx,
  paused: boolean,
  counts: (action: "empty" | "delete") => Counts,
  topic: string,
  channel?: string,
  compact = false,
  onDeleted?: () => void,
) {
  if (!mayAct(topic, channel)) return null;
  const what = channel === undefined ? "topic" : "channel";
  // In a table row, "Pause"; in a page's head, "Pause channel" ("Pause" on a phone).
  const button = (action: "pause" | "unpause" | "empty" | "delete", label: string, cls: string) => {
    const b = h(
      "button",
      { type: "button", class: `btn ${cls}${compact ? " btn-small" : ""}`, "data-action": action, title: `${label} ${what}` },
      label,
      compact ? null : h("span", { class: "what" }, ` ${what}`),
    );
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const done = await runAction(ctx, action, topic, channel, action === "empty" || action === "delete" ? counts(action) : undefined);
        if (done && action === "delete") onDeleted?.();
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  return h(
    "div",
    { class: "btn-group" },
    paused ? button("unpause", "Unpause", "btn-primary") : button("pause", "Pause", ""),
    button("empty", "Empty", "btn-warn"),
    button("delete", "Delete", "btn-danger"),
  );
}

/** The big numbers at the top of a page: [label, value, tooltip, data-field]. */
export function statCards(items: [string, string, string | null, string][]) {
  return h(
    "dl",
    { class: "stat-cards" },
    items.map(([label, value, title, field]) => h("div", { class: "stat", title }, h("dt", null, label), h("dd", { "data-field": field }, value))),
  );
}

/**
 * E2E processing latency percentiles (publish to FIN, over the service's window), when the service
 * records them: nsqd's {count, percentiles: [{quantile, value ns}]}, percentiles null when not
 * configured (E2E_PROCESSING_LATENCY_PERCENTILES).
 */
export function latencyTable(latency: Latency | undefined) {
  const pcts = latency?.percentiles;
  if (!latency || !pcts || pcts.length === 0) {
    return h("p", { class: "muted", "data-field": "e2e" }, "E2E processing latency: not recorded.");
  }
  const samples = latency.count;
  return h(
    "div",
    { class: "latency", "data-field": "e2e" },
    h("h2", null, "E2E processing latency ", h("small", { "data-field": "e2e-count" }, `(${samples.toLocaleString("en-US")} sample${samples === 1 ? "" : "s"})`)),
    h(
      "table",
      { class: "grid" },
      h("thead", null, h("tr", null, pcts.map((p) => h("th", { class: "num" }, quantileLabel(p.quantile))))),
      // No sample in the window yet: every quantile reads 0, which is no latency.
      h("tbody", null, h("tr", null, pcts.map((p) => h("td", { class: "num", "data-quantile": p.quantile }, samples > 0 ? nanos(p.value) : "–")))),
    ),
  );
}

/**
 * The inline form that creates a topic (no `topic`) or a channel of `topic`; none when the
 * identity may create none (the service checks the name itself).
 */
export function createForm(ctx: Ctx, topic?: string) {
  if (topic === undefined ? !mayCreateTopics() : !mayAct(topic)) return null;
  const what = topic === undefined ? "topic" : "channel";
  const input = h("input", { name: what, placeholder: `new ${what} name`, autocomplete: "off", required: true, maxlength: 64, pattern: "[.a-zA-Z0-9_\\-]+(#ephemeral)?", "aria-label": `${what} name` });
  const form = h("form", { class: "inline-form", "data-form": `create-${what}` }, input, h("button", { class: "btn btn-primary", type: "submit" }, `Create ${what}`));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = input.value.trim();
    const created = name && (topic === undefined ? await runAction(ctx, "create", name) : await runAction(ctx, "create", topic, name));
    if (created) input.value = "";
  });
  return form;
}
