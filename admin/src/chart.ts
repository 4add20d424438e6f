// Inline SVG charts: a sparkline for table cells and a time-series line chart with a legend.
import { compact, h, s } from "./dom";
import type { Point } from "./history";

export const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

/** A small rate sparkline (120×24) of the last points, scaled to their own maximum. */
export function sparkline(points: Point[], label: string): SVGElement {
  const w = 120;
  const ht = 24;
  const svg = s("svg", { class: "spark", width: w, height: ht, viewBox: `0 0 ${w} ${ht}`, role: "img", "aria-label": label });
  const pts = points.slice(-40);
  if (pts.length < 2) {
    svg.append(s("line", { x1: 0, x2: w, y1: ht - 1.5, y2: ht - 1.5, class: "spark-empty" }));
    return svg;
  }
  const max = Math.max(...pts.map((p) => p.v));
  const t0 = pts[0].t;
  const span = pts[pts.length - 1].t - t0 || 1;
  const xy = pts.map((p) => [(p.t - t0) / span * (w - 3) + 1.5, ht - 1.5 - (max > 0 ? (p.v / max) * (ht - 4) : 0)] as const);
  const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  svg.append(
    s("polygon", { class: "spark-area", points: `${xy[0][0].toFixed(1)},${ht} ${line} ${xy[xy.length - 1][0].toFixed(1)},${ht}` }),
    s("polyline", { class: "spark-line", points: line }),
    s("circle", { class: "spark-dot", cx: xy[xy.length - 1][0].toFixed(1), cy: xy[xy.length - 1][1].toFixed(1), r: 2 }),
  );
  return svg;
}

const FIGURE_CHROME = 26;

export interface Series {
  name: string;
  points: Point[];
  color?: string;
  /** Drawn wide and faint under the others: a total the other series divide up. */
  main?: boolean;
}

/** The smallest "nice" number (1, 2, 2.5, 5 × 10^n) at or above `v`. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function ago(ms: number): string {
  const sec = Math.round(ms / 1000);
  return sec >= 60 ? `-${Math.round(sec / 6) / 10}m`.replace(".0m", "m") : `-${sec}s`;
}

/**
 * A line chart `width` pixels wide (drawn at the container's width, so text keeps its size on a
 * phone), with a legend of each series' latest value. `format` prints values.
 */
export function lineChart(opts: { title: string; series: Series[]; width: number; height?: number; unit?: string; format?: (v: number) => string }): HTMLElement {
  const { title, series, unit = "" } = opts;
  const format = opts.format ?? compact;
  // The figure's padding and border (app.css) take FIGURE_CHROME of its width.
  const width = Math.max(220, Math.floor(opts.width) - FIGURE_CHROME);
  const height = opts.height ?? 160;
  const m = { l: 44, r: 10, t: 10, b: 20 };
  const iw = width - m.l - m.r;
  const ih = height - m.t - m.b;
  const all = series.flatMap((x) => x.points);
  const now = all.length ? Math.max(...all.map((p) => p.t)) : Date.now();
  const first = all.length ? Math.min(...all.map((p) => p.t)) : now;
  // All the history there is (at least 20 s, at most the 5 minutes kept) across the width.
  const windowMs = Math.min(5 * 60_000, Math.max(20_000, now - first));
  const t0 = now - windowMs;
  const max = niceCeil(Math.max(0, ...all.map((p) => p.v)));
  const x = (t: number) => m.l + ((t - t0) / windowMs) * iw;
  const y = (v: number) => m.t + ih - (v / max) * ih;

  const svg = s("svg", { class: "chart-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  for (const v of [0, max / 2, max]) {
    svg.append(
      s("line", { class: "grid", x1: m.l, x2: width - m.r, y1: y(v), y2: y(v) }),
      s("text", { class: "axis", x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, compact(v)),
    );
  }
  for (const [t, anchor] of [[t0, "start"], [t0 + windowMs / 2, "middle"], [now, "end"]] as const) {
    svg.append(s("text", { class: "axis", x: x(t), y: height - 5, "text-anchor": anchor }, t === now ? "now" : ago(now - t)));
  }
  series.forEach((ser, i) => {
    const color = ser.color ?? PALETTE[i % PALETTE.length];
    const pts = ser.points.filter((p) => p.t >= t0);
    if (pts.length === 0) return;
    const line = pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    if (pts.length === 1) svg.append(s("circle", { cx: x(pts[0].t), cy: y(pts[0].v), r: 2.5, fill: color, "data-series": ser.name }));
    else svg.append(s("polyline", { class: ser.main ? "series series-main" : "series", points: line, stroke: color, "data-series": ser.name }));
  });
  if (all.length === 0) {
    svg.append(s("text", { class: "axis", x: m.l + iw / 2, y: m.t + ih / 2, "text-anchor": "middle" }, "collecting…"));
  }

  const legend = h(
    "ul",
    { class: "legend" },
    series.map((ser, i) => {
      const last = ser.points[ser.points.length - 1];
      return h(
        "li",
        null,
        h("span", { class: "swatch", style: `background:${ser.color ?? PALETTE[i % PALETTE.length]}` }),
        h("span", { class: "legend-name" }, ser.name),
        h("b", null, last ? `${format(last.v)}${unit}` : "–"),
      );
    }),
  );
  return h("figure", { class: "chart" }, h("figcaption", null, title), svg, legend);
}
