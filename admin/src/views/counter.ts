// The counter: nsqadmin's "messages processed", the sum of every channel's message_count (its
// /api/counter sums them over the nodes; here there is one). As nsqadmin's, the big number runs
// up to each new total over as long as the last poll took, so it moves steadily instead of
// jumping once a poll; under it, the sum's rate per second and its chart.
import { loadStats, type Ctx, type View } from "../app";
import { lineChart } from "../chart";
import { commafy, fill, h, rate } from "../dom";
import { currentRate, rateSeries, TOTAL } from "../history";

export function counterView(ctx: Ctx): View {
  const number = h("div", { class: "counter-number", "data-field": "counter" }, "–");
  const perSecond = h("span", { "data-field": "rate" }, "–");
  const summary = h("p", { class: "summary", "data-field": "summary" });
  const charts = h("div", { class: "charts charts-single" });
  const el = h(
    "section",
    null,
    h("div", { class: "page-head" }, h("h1", null, "Counter")),
    h("div", { class: "counter" }, number, h("p", { class: "counter-label" }, "Messages processed"), h("p", { class: "counter-rate" }, perSecond, " messages/s")),
    summary,
    charts,
  );
  // What the number shows and where it is heading: from `from` at `started` to `target` over `duration` ms.
  let shown = -1;
  let from = 0;
  let target = 0;
  let started = 0;
  let duration = 0;
  let lastPoll = 0;
  let animating = false;

  const frame = () => {
    const done = duration <= 0 ? 1 : Math.min(1, (performance.now() - started) / duration);
    shown = from + (target - from) * done;
    number.textContent = commafy(Math.floor(shown));
    animating = done < 1 && el.isConnected;
    if (animating) requestAnimationFrame(frame);
  };

  return {
    title: "Counter",
    el,
    async refresh() {
      const stats = await loadStats();
      const now = performance.now();
      const topics = stats.topics ?? [];
      const channels = topics.reduce((n, t) => n + t.channels.length, 0);
      const total = topics.reduce((n, t) => n + t.channels.reduce((m, c) => m + c.message_count, 0), 0);
      if (shown < 0 || total < target) {
        // The first poll seeds it; a smaller sum (a channel deleted) is shown as it is.
        shown = from = target = total;
        duration = 0;
        number.textContent = commafy(total);
      } else if (total > target) {
        from = shown;
        target = total;
        started = now;
        duration = Math.min(now - lastPoll, 10_000);
        if (!animating) frame();
      }
      lastPoll = now;
      fill(perSecond, rate(currentRate(TOTAL)));
      fill(summary, `Summed over ${commafy(channels)} channel${channels === 1 ? "" : "s"} of ${commafy(topics.length)} topic${topics.length === 1 ? "" : "s"}: each message counts once per channel it reaches.`);
      fill(charts, lineChart({ title: "Messages processed per second", unit: "/s", format: rate, width: ctx.chartWidth(), series: [{ name: "processed", points: rateSeries(TOTAL) }] }));
    },
  };
}
