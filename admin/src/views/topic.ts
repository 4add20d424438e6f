// A topic: its counters, rate and depth charts, its channels (with their actions), the topic's
// own actions and settings; a form creates a channel.
import type { ChannelStats, TopicStats } from "../api";
import { BASE, channelPath, link, loadStats, type Ctx, type View } from "../app";
import { lineChart, PALETTE } from "../chart";
import { commafy, fill, h, rate } from "../dom";
import { channelKey, currentRate, gaugeSeries, rateSeries, topicKey } from "../history";
import { actionButtons, channelCells, createForm, latencyTable, statCards } from "./parts";
import { topicSettings } from "./settings";
import * as api from "../api";
import { mayAct } from "../auth";
import { notify } from "../dialog";

export function topicView(ctx: Ctx, topic: string): View {
  const badges = h("span", { class: "badges" });
  const actions = h("div", { class: "actions" });
  const cards = h("div", { class: "live" });
  const charts = h("div", { class: "charts" });
  const latency = h("div", { class: "live" });
  const channels = h("div", { class: "live" });
  const shards = h("div", { class: "live" });
  const form = createForm(ctx, topic);
  const settings = topicSettings(ctx, topic, () => latest?.channels.reduce((n, c) => n + c.depth, 0) ?? 0);
  const settingsPart = h("div", null, h("h2", null, "Settings"), settings.el);
  const el = h(
    "section",
    null,
    h("nav", { class: "crumbs" }, link(`${BASE}/`, "Topics"), " / ", h("span", null, topic)),
    h("div", { class: "page-head" }, h("h1", null, topic, badges), actions),
    cards,
    charts,
    latency,
    h("div", { class: "page-head" }, h("h2", null, "Channels"), form),
    channels,
    h("div", { class: "page-head" }, h("h2", null, "Shards"), shardsForm(ctx, topic, () => latest?.shards?.length ?? 1)),
    shards,
    settingsPart,
  );
  let latest: TopicStats | undefined;

  return {
    title: topic,
    el,
    async refresh() {
      const stats = await loadStats({ topic });
      const t = stats.topics?.find((x) => x.topic_name === topic);
      if (!t) {
        fill(badges);
        fill(actions);
        fill(cards, h("div", { class: "empty-state" }, `Topic ${topic} does not exist (any more). `, link(`${BASE}/`, "All topics")));
        fill(charts);
        fill(latency);
        fill(channels);
        settingsPart.hidden = true;
        return;
      }
      latest = t;
      settingsPart.hidden = false;
      settings.update(t.config);
      fill(badges, t.paused ? h("span", { class: "badge badge-paused", "data-field": "state" }, "paused") : null);
      // Emptying a topic empties its own queue; deleting it takes its channels' too.
      const counts = (action: "empty" | "delete") => ({
        depth: !latest ? 0 : action === "empty" ? latest.depth : latest.depth + latest.channels.reduce((n, c) => n + c.depth, 0),
        channels: latest?.channels.length ?? 0,
      });
      fill(actions, actionButtons(ctx, t.paused, counts, topic, undefined, false, () => ctx.navigate(`${BASE}/`)));
      const key = topicKey(topic);
      fill(
        cards,
        statCards([
          ["Topic depth", commafy(t.depth), "messages held by the topic itself (while it is paused or has no channel)", "depth"],
          ["Channel depth", commafy(t.channels.reduce((n, c) => n + c.depth, 0)), "messages queued in its channels", "channel-depth"],
          ["Messages", commafy(t.message_count), "published since the topic was created", "messages"],
          ["Publish rate", `${rate(currentRate(key))}/s`, null, "rate"],
          ["Channels", commafy(t.channels.length), null, "channels"],
          ["Bytes", commafy(t.message_bytes), "bytes published", "bytes"],
          ["Duplicates", commafy(t.duplicate_count ?? 0), "publishes answered OK as repeats within the dedup window, stored once", "duplicates"],
          ["Rejected", commafy(t.rejected_count ?? 0), "publishes refused: a channel with overflow reject was full", "rejected"],
        ]),
      );
      drawCharts(ctx, t, charts);
      fill(latency, latencyTable(t.e2e_processing_latency));
      const sorted = [...t.channels].sort((a, b) => a.channel_name.localeCompare(b.channel_name));
      fill(
        channels,
        sorted.length === 0
          ? h("div", { class: "empty-state" }, "No channels: messages wait in the topic until one is created or a consumer subscribes.")
          : channelTable(ctx, topic, sorted, (ch) => latest?.channels.find((c) => c.channel_name === ch)?.depth ?? 0),
      );
      fill(shards, shardTable(t));
    },
  };
}

function drawCharts(ctx: Ctx, t: TopicStats, charts: HTMLElement) {
  const width = ctx.chartWidth();
  const half = width >= 720 ? (width - 16) / 2 : width;
  const chs = [...t.channels].sort((a, b) => a.channel_name.localeCompare(b.channel_name));
  fill(
    charts,
    lineChart({
      title: "Message rate",
      unit: "/s",
      format: rate,
      width: half,
      series: [
        { name: "published", points: rateSeries(topicKey(t.topic_name)), color: "#111827", main: true },
        ...chs.map((c, i) => ({ name: c.channel_name, points: rateSeries(channelKey(t.topic_name, c.channel_name)), color: PALETTE[i % PALETTE.length] })),
      ],
    }),
    lineChart({
      title: "Depth",
      width: half,
      format: commafy,
      series: [
        { name: "topic", points: gaugeSeries(topicKey(t.topic_name), "depth"), color: "#111827", main: true },
        ...chs.map((c, i) => ({ name: c.channel_name, points: gaugeSeries(channelKey(t.topic_name, c.channel_name), "depth"), color: PALETTE[i % PALETTE.length] })),
      ],
    }),
  );
}

function channelTable(ctx: Ctx, topic: string, channels: ChannelStats[], depthOf: (channel: string) => number) {
  const num = (label: string, field: string, value: number) => h("td", { "data-label": label, "data-field": field, class: "num" }, commafy(value));
  return h(
    "table",
    { class: "grid cards", "data-table": "channels" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Channel", "Depth", "In flight", "Deferred", "Requeued", "Timed out", "Messages", "Consumers", "Rate", "State", ""].map((x, i) =>
          h("th", { class: i >= 1 && i <= 8 ? "num" : null }, x),
        ),
      ),
    ),
    h(
      "tbody",
      null,
      channels.map((c) =>
        h(
          "tr",
          { "data-channel": c.channel_name },
          h("td", { "data-label": "Channel", class: "name" }, link(channelPath(topic, c.channel_name), c.channel_name)),
          ...channelCells(topic, c, ["Consumers", "consumers"]),
          h("td", { "data-label": "State", "data-field": "state" }, c.paused ? h("span", { class: "badge badge-paused" }, "paused") : h("span", { class: "badge badge-ok" }, "active")),
          h("td", { class: "row-actions" }, actionButtons(ctx, c.paused, () => ({ depth: depthOf(c.channel_name) }), topic, c.channel_name, true)),
        ),
      ),
    ),
  );
}

/** Each shard's own figures (a sharded topic's objects: src/topic/shards.ts), or that there is one. */
function shardTable(t: TopicStats) {
  if (!t.shards) return h("div", { class: "empty-state", "data-field": "shards" }, "One shard: the topic is one object.");
  const num = (label: string, value: number) => h("td", { "data-label": label, class: "num" }, commafy(value));
  return h(
    "table",
    { class: "grid cards", "data-table": "shards" },
    h("thead", null, h("tr", null, ["Shard", "Topic depth", "Channel depth", "Messages"].map((x, i) => h("th", { class: i > 0 ? "num" : null }, x)))),
    h(
      "tbody",
      null,
      ...t.shards.map((s, i) =>
        h(
          "tr",
          { "data-shard": String(i) },
          h("td", { "data-label": "Shard" }, String(i)),
          num("Topic depth", s.depth),
          num("Channel depth", s.channels.reduce((n, c) => n + c.depth, 0)),
          num("Messages", s.message_count),
        ),
      ),
    ),
  );
}

/** Adds shards (the count only grows): POST /topic/shards. */
function shardsForm(ctx: Ctx, topic: string, current: () => number) {
  if (!mayAct(topic)) return null;
  const input = h("input", { name: "shards", type: "number", min: 2, max: 64, placeholder: "shards", required: true, "aria-label": "new shard count" });
  const form = h("form", { class: "inline-form", "data-form": "add-shards" }, input, h("button", { class: "btn", type: "submit" }, "Set shards"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const n = Number(input.value);
    if (!(n > current())) return notify(`A topic's shards can only be added: it has ${current()}`, "error");
    try {
      await api.addShards(topic, n);
    } catch (err) {
      if (!(err instanceof api.ApiError && err.status === 401)) notify(`shards of topic ${topic}: ${err instanceof Error ? err.message : err}`, "error");
      return;
    }
    notify(`Topic ${topic} has ${n} shards`);
    input.value = "";
    ctx.refreshNow();
  });
  return form;
}
