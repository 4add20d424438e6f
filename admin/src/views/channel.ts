// A channel: its counters, charts of its rates and queue, its consumers and E2E latency, its
// actions, its queued messages (peek), its settings and, on a dead-letter channel, its redrive.
import type { ChannelStats, ClientStats } from "../api";
import { BASE, link, loadStats, topicPath, type Ctx, type View } from "../app";
import { mayAct } from "../auth";
import { commafy, fill, h, rate, since } from "../dom";
import { channelKey, currentRate } from "../history";
import { actionButtons, latencyTable, rateAndQueueCharts, statCards } from "./parts";
import { peekPart } from "./peek";
import { redrivePart } from "./redrive";
import { channelSettings } from "./settings";

export function channelView(ctx: Ctx, topic: string, channel: string): View {
  const badges = h("span", { class: "badges" });
  const actions = h("div", { class: "actions" });
  const cards = h("div", { class: "live" });
  const charts = h("div", { class: "charts" });
  const latency = h("div", { class: "live" });
  const consumers = h("div", { class: "live" });
  const consumersHead = h("h2", null, "Consumers");
  // Peek and redrive need `admin` (the service answers 403 without).
  const admin = mayAct(topic, channel);
  const redrive = admin ? redrivePart(ctx, topic, channel, () => latest?.depth ?? 0) : null;
  const peek = admin ? peekPart(topic, channel, () => latest && redrive?.update(latest, showRedrive(latest))) : null;
  const settings = channelSettings(ctx, topic, channel, () => ({ depth: latest?.depth ?? 0, bytes: latest?.held_bytes ?? 0 }));
  const settingsPart = h("div", null, h("h2", null, "Settings"), settings.el);
  const el = h(
    "section",
    null,
    h("nav", { class: "crumbs" }, link(`${BASE}/`, "Topics"), " / ", link(topicPath(topic), topic), " / ", h("span", null, channel)),
    h("div", { class: "page-head" }, h("h1", null, channel, badges), actions),
    cards,
    charts,
    latency,
    consumersHead,
    consumers,
    peek?.el,
    redrive?.el,
    settingsPart,
  );
  let latest: ChannelStats | undefined;
  // A dead-letter channel: its topic is named so, its messages have an origin, or it ran a redrive.
  const showRedrive = (c: ChannelStats) => topic.endsWith(".dead") || !!peek?.hasOrigins() || !!c.redrive;

  return {
    title: `${channel} · ${topic}`,
    el,
    async refresh() {
      const stats = await loadStats({ topic, channel, clients: true });
      const c = stats.topics?.find((x) => x.topic_name === topic)?.channels.find((x) => x.channel_name === channel);
      latest = c;
      if (!c) {
        fill(badges);
        fill(actions);
        fill(cards, h("div", { class: "empty-state" }, `Channel ${channel} of topic ${topic} does not exist (any more). `, link(topicPath(topic), `Topic ${topic}`)));
        fill(charts);
        fill(latency);
        fill(consumers);
        for (const part of [consumersHead, peek?.el, redrive?.el, settingsPart]) if (part) part.hidden = true;
        return;
      }
      for (const part of [consumersHead, peek?.el, settingsPart]) if (part) part.hidden = false;
      peek?.update(c);
      redrive?.update(c, showRedrive(c));
      settings.update(c.config);
      fill(
        badges,
        c.paused ? h("span", { class: "badge badge-paused", "data-field": "state" }, "paused") : null,
        channel.endsWith("#ephemeral") ? h("span", { class: "badge" }, "ephemeral") : null,
      );
      fill(actions, actionButtons(ctx, c.paused, () => ({ depth: latest?.depth ?? 0 }), topic, channel, false, () => ctx.navigate(topicPath(topic))));
      const key = channelKey(topic, channel);
      fill(
        cards,
        statCards([
          ["Depth", commafy(c.depth), "messages ready or waiting to be delivered", "depth"],
          ["In flight", commafy(c.in_flight_count), "delivered, not yet finished", "in-flight"],
          ["Deferred", commafy(c.deferred_count), "due later (DPUB, REQ with a delay)", "deferred"],
          ["Requeued", commafy(c.requeue_count), "REQ answers so far", "requeued"],
          ["Timed out", commafy(c.timeout_count), "in-flight timeouts so far", "timed-out"],
          ["Dead", commafy(c.dead_count ?? 0), "moved to the dead-letter topic at max_attempts", "dead"],
          ["Expired", commafy(c.expired_count ?? 0), "past their msg_ttl (dropped, or dead-lettered)", "expired"],
          ["Dropped", commafy(c.dropped_count ?? 0), "pushed out by newer messages (overflow drop_oldest)", "dropped"],
          ["Held bytes", commafy(c.held_bytes ?? 0), "bytes of body held: what max_bytes bounds", "held-bytes"],
          ["Messages", commafy(c.message_count), "received by the channel", "messages"],
          ["Consumers", commafy(c.client_count), null, "consumers"],
          ["Rate", `${rate(currentRate(key))}/s`, "messages into the channel per second", "rate"],
        ]),
      );
      fill(charts, ...rateAndQueueCharts(ctx, key, ["Rates", "Queue"]));
      fill(latency, latencyTable(c.e2e_processing_latency));
      const clients = [...(c.clients ?? [])].sort((a, b) => a.connect_ts - b.connect_ts || a.client_id.localeCompare(b.client_id));
      fill(consumers, clients.length === 0 ? h("div", { class: "empty-state" }, "No consumers connected.") : clientTable(clients));
    },
  };
}

function clientTable(clients: ClientStats[]) {
  const num = (label: string, field: string, value: number) => h("td", { "data-label": label, "data-field": field, class: "num" }, commafy(value));
  const now = Date.now();
  return h(
    "table",
    { class: "grid cards", "data-table": "consumers" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Client ID", "Hostname", "Address", "User agent", "RDY", "In flight", "Messages", "Finished", "Requeued", "Connected"].map((x, i) =>
          h("th", { class: i >= 4 && i <= 8 ? "num" : null }, x),
        ),
      ),
    ),
    h(
      "tbody",
      null,
      clients.map((cl) =>
        h(
          "tr",
          { "data-client": cl.client_id },
          h("td", { "data-label": "Client ID", class: "name" }, cl.client_id),
          h("td", { "data-label": "Hostname" }, cl.hostname),
          h("td", { "data-label": "Address" }, cl.remote_address),
          h("td", { "data-label": "User agent", "data-field": "user-agent", class: "wrap" }, cl.user_agent || "–"),
          num("RDY", "rdy", cl.ready_count),
          num("In flight", "in-flight", cl.in_flight_count),
          num("Messages", "messages", cl.message_count),
          num("Finished", "finished", cl.finish_count),
          num("Requeued", "requeued", cl.requeue_count),
          h("td", { "data-label": "Connected", title: new Date(cl.connect_ts * 1000).toISOString() }, `${since(cl.connect_ts, now)} ago`),
        ),
      ),
    ),
  );
}
