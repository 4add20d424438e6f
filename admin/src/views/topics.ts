// Topics: every topic with its depth, message count, channels, paused state and a live publish
// rate; a form creates one.
import type { TopicStats } from "../api";
import { link, loadStats, topicPath, type Ctx, type View } from "../app";
import { sparkline } from "../chart";
import { commafy, fill, h, rate } from "../dom";
import { currentRate, rateSeries, topicKey } from "../history";
import { createForm } from "./parts";

export function topicsView(ctx: Ctx): View {
  const summary = h("p", { class: "summary" });
  const table = h("div", { class: "live" });
  const form = createForm(ctx);
  const el = h("section", null, h("div", { class: "page-head" }, h("h1", null, "Topics"), form), summary, table);

  return {
    title: "Topics",
    el,
    async refresh() {
      const stats = await loadStats();
      const topics = [...(stats.topics ?? [])].sort((a, b) => a.topic_name.localeCompare(b.topic_name));
      const total = topics.reduce((n, t) => n + t.message_count, 0);
      const totalRate = topics.reduce((n, t) => n + (currentRate(topicKey(t.topic_name)) ?? 0), 0);
      fill(summary, `${commafy(topics.length)} topic${topics.length === 1 ? "" : "s"} · ${commafy(total)} messages · ${rate(totalRate)} msg/s`);
      if (topics.length === 0) {
        fill(table, h("div", { class: "empty-state" }, "No topics yet. Create one above, or publish: ", h("code", null, `curl -d hello '${location.origin}/pub?topic=orders'`)));
        return;
      }
      fill(
        table,
        h(
          "table",
          { class: "grid cards", "data-table": "topics" },
          h("thead", null, h("tr", null, h("th", null, "Topic"), h("th", { class: "num" }, "Depth"), h("th", { class: "num" }, "Messages"), h("th", { class: "num" }, "Channels"), h("th", null, "Publish rate"), h("th", null, "State"))),
          h("tbody", null, topics.map(row)),
        ),
      );
    },
  };
}

function row(t: TopicStats) {
  const channelDepth = t.channels.reduce((n, c) => n + c.depth, 0);
  const depth = t.depth + channelDepth;
  const key = topicKey(t.topic_name);
  return h(
    "tr",
    { "data-topic": t.topic_name },
    h("td", { "data-label": "Topic", class: "name" }, link(topicPath(t.topic_name), t.topic_name)),
    h(
      "td",
      { "data-label": "Depth", "data-field": "depth", class: "num", title: `topic ${commafy(t.depth)} + channels ${commafy(channelDepth)}` },
      commafy(depth),
      t.depth > 0 && t.channels.length > 0 ? h("small", null, ` (${commafy(t.depth)} in topic)`) : null,
    ),
    h("td", { "data-label": "Messages", "data-field": "messages", class: "num" }, commafy(t.message_count)),
    h("td", { "data-label": "Channels", "data-field": "channels", class: "num" }, commafy(t.channels.length)),
    h("td", { "data-label": "Publish rate", class: "rate" }, sparkline(rateSeries(key), `publish rate of ${t.topic_name}`), h("span", { "data-field": "rate" }, `${rate(currentRate(key))}/s`)),
    h("td", { "data-label": "State", "data-field": "state" }, t.paused ? h("span", { class: "badge badge-paused" }, "paused") : h("span", { class: "badge badge-ok" }, "active")),
  );
}
