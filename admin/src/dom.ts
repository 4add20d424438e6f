// A few DOM helpers: element construction and number formatting. No framework: each view builds
// its skeleton once and replaces the children of its live regions on every refresh.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function setAttrs(el: HTMLElement, attrs: Attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el: Element, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * Makes `el`'s children (a live region) equal to `children`, keeping every existing node whose
 * markup did not change: a refresh never takes a button from under the pointer, nor its focus.
 */
export function fill(el: Element, ...children: Child[]) {
  const holder = document.createElement("div");
  append(holder, children);
  morph(el, [...holder.childNodes]);
}

function morph(parent: Element, next: Node[]) {
  const old = [...parent.childNodes];
  next.forEach((n, i) => {
    const o = old[i];
    if (!o) parent.append(n);
    else if (o instanceof Element && n instanceof Element) {
      if (o.outerHTML === n.outerHTML) return;
      if (o.tagName === n.tagName && o.namespaceURI !== SVG_NS && sameAttributes(o, n)) morph(o, [...n.childNodes]);
      else o.replaceWith(n);
    } else if (o.nodeType === n.nodeType && o.nodeType === Node.TEXT_NODE) {
      if (o.textContent !== n.textContent) o.textContent = n.textContent;
    } else o.replaceWith(n);
  });
  for (let i = next.length; i < old.length; i++) old[i].remove();
}

function sameAttributes(a: Element, b: Element): boolean {
  if (a.attributes.length !== b.attributes.length) return false;
  for (const attr of a.attributes) if (b.getAttribute(attr.name) !== attr.value) return false;
  return true;
}

const intFormat = new Intl.NumberFormat("en-US");
export const commafy = (n: number) => intFormat.format(n);

/** A rate in messages per second: "0", "0.4", "12", "1,204". */
export function rate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond)) return "–";
  if (perSecond === 0) return "0";
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, "");
  return commafy(Math.round(perSecond));
}

/** A compact count for chart axes: 950, 1.2k, 3.4M. */
export function compact(n: number): string {
  if (n < 1000) return String(Math.round(n * 10) / 10);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0).replace(/\.0$/, "")}k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0).replace(/\.0$/, "")}M`;
}

/**
 * Nanoseconds as nsqadmin prints latencies (its nanotohuman, two decimals, µs for its us):
 * 850ns, 12.35ms, 1.2s, 2m3.5s, 1h2m.
 */
export function nanos(ns: number): string {
  const round2 = (v: number) => Math.round(v * 100) / 100;
  let out = "";
  if (ns >= 3600e9) {
    out += `${Math.floor(ns / 3600e9)}h`;
    ns %= 3600e9;
  }
  if (ns >= 60e9) {
    out += `${Math.floor(ns / 60e9)}m`;
    ns %= 60e9;
  }
  if (ns >= 1e9) return `${out}${round2(ns / 1e9)}s`;
  if (ns >= 1e6) return `${out}${round2(ns / 1e6)}ms`;
  if (ns >= 1e3) return `${out}${round2(ns / 1e3)}µs`;
  // (nsqadmin's prints a whole hour as "0ns": here "1h".)
  return out && ns < 0.5 ? out : `${out}${Math.round(ns)}ns`;
}

/** How long ago a Unix time (seconds) was: "45s", "12m 3s", "3h 20m", "2d 4h". */
export function since(unixSeconds: number, nowMs = Date.now()): string {
  let s = Math.max(0, Math.floor(nowMs / 1000 - unixSeconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hr = Math.floor(s / 3600);
  s -= hr * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A quantile as a percentile: 0.99 → "p99", 0.999 → "p99.9", 1 → "p100". */
export function quantileLabel(q: number): string {
  const p = Math.round(q * 1000) / 10;
  return `p${p}`;
}
