// A node, as nsqadmin's node page shows an nsqd: what its /info says, and every topic it has
// with its channels and their figures, and the totals. nsq-edge is one node, so this is the
// whole service; its charts are the sums over every channel.
import * as api from "../api";
import { BASE, channelPath, link, loadStats, topicPath, type Ctx, type View } from "../app";
import { commafy, fill, h, rate, since } from "../dom";
import { currentRate, topicKey, TOTAL } from "../history";
import { nodeName, nodePath } from "./nodes";
import { channelCells, rateAndQueueCharts, statCards } from "./parts";

export function nodeView(ctx: Ctx, node: string): View {
  const cards = h("div", { class: "live" });
  const summary = h("p", { class: "summary", "data-field": "totals" });
  const charts = h("div", { class: "charts" });
  const topics = h("div", { class: "live" });
  const raw = h("pre", { class: "raw" });
  const el = h(
    "section",
    null,
    h("nav", { class: "crumbs" }, link(`${BASE}/nodes`, "Nodes"), " / ", h("span", null, node)),
    h("div", { class: "page-head" }, h("h1", null, node)),
    cards,
    charts,
    h("h2", null, "Topics"),
    summary,
    topics,
    h("details", null, h("summary", null, "Raw answer of /info"), raw),
  );

  return {
    title: node,
    el,
    async refresh() {
      const [nodes, info, stats] = await Promise.all([api.nodes(), api.info(), loadStats()]);
      const listed = nodes.producers.map(nodeName);
      if (!listed.includes(node)) {
        fill(cards, h("div", { class: "empty-state" }, `/nodes does not list a node ${node}. It lists `, listed.map((n, i) => [i ? ", " : "", link(nodePath(n), n)]), "."));
        for (const part of [charts, summary, topics]) fill(part);
        return;
      }
      raw.textContent = JSON.stringify(info, null, 2);
      fill(
        cards,
        statCards([
          ["Version", info.version, null, "version"],
          ["Hostname", info.hostname, null, "hostname"],
          ["Broadcast address", info.broadcast_address, null, "broadcast-address"],
          ["HTTP port", String(info.http_port), null, "http-port"],
          ["TCP port", `${info.tcp_port} (/ws)`, "the V2 protocol, as a WebSocket at /ws", "tcp-port"],
          ["Started", `${since(info.start_time)} ago`, new Date(info.start_time * 1000).toISOString(), "started"],
        ]),
      );
      drawCharts(ctx, charts);
      const list = [...(stats.topics ?? [])].sort((a, b) => a.topic_name.localeCompare(b.topic_name));
      const channels = list.reduce((n, t) => n + t.channels.length, 0);
      const clients = list.reduce((n, t) => n + t.channels.reduce((m, c) => m + c.client_count, 0), 0);
      const messages = list.reduce((n, t) => n + t.message_count, 0);
      fill(
        summary,
        `${commafy(list.length)} topic${list.length === 1 ? "" : "s"} · ${commafy(channels)} channel${channels === 1 ? "" : "s"} · ${commafy(messages)} messages · `,
        h("span", { "data-field": "clients" }, commafy(clients)),
        ` client connection${clients === 1 ? "" : "s"}`,
      );
      fill(topics, list.length === 0 ? h("div", { class: "empty-state" }, "No topics exist on this node.") : topicTable(list));
    },
  };
}

function drawCharts(ctx: Ctx, charts: HTMLElement) {
  fill(charts, ...rateAndQueueCharts(ctx, TOTAL, ["Rates, all channels", "Queues, all topics and channels"]));
}

/** One table, as nsqadmin's: each topic's row, then a row for each of its channels. */
function topicTable(topics: api.TopicStats[]) {
  const num = (label: string, field: string, value: number) => h("td", { "data-label": label, "data-field": field, class: "num" }, commafy(value));
  const state = (paused: boolean) => (paused ? h("span", { class: "badge badge-paused", "data-field": "state" }, "paused") : null);
  return h(
    "table",
    { class: "grid cards", "data-table": "node-topics" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Topic / channel", "Depth", "In flight", "Deferred", "Requeued", "Timed out", "Messages", "Clients", "Rate"].map((x, i) => h("th", { class: i > 0 ? "num" : null }, x)),
      ),
    ),
    h(
      "tbody",
      null,
      topics.map((t) => [
        h(
          "tr",
          { class: "topic-row", "data-topic": t.topic_name },
          h("td", { "data-label": "Topic", class: "name" }, link(topicPath(t.topic_name), t.topic_name), " ", state(t.paused), h("small", null, ` ${commafy(t.channels.length)} channel${t.channels.length === 1 ? "" : "s"}`)),
          num("Depth", "depth", t.depth),
          h("td"),
          h("td"),
          h("td"),
          h("td"),
          num("Messages", "messages", t.message_count),
          h("td"),
          h("td", { "data-label": "Rate", "data-field": "rate", class: "num" }, `${rate(currentRate(topicKey(t.topic_name)))}/s`),
        ),
        [...t.channels]
          .sort((a, b) => a.channel_name.localeCompare(b.channel_name))
          .map((c) =>
            h(
              "tr",
              { class: "channel-row", "data-topic": t.topic_name, "data-channel": c.channel_name },
              h("td", { "data-label": "Channel", class: "name" }, link(channelPath(t.topic_name, c.channel_name), c.channel_name), " ", state(c.paused)),
              ...channelCells(t.topic_name, c, ["Clients", "clients"]),
            ),
          ),
      ]),
    ),
  );
}
