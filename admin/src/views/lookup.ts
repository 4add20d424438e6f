// Lookup: what nsqlookupd's /topics and /lookup?topic= answer.
import * as api from "../api";
import { topicPath, link, type Ctx, type View } from "../app";
import { fill, h } from "../dom";
import { lookupPath } from "./nodes";

export function lookupView(ctx: Ctx, selected: string | null): View {
  const list = h("div", { class: "live" });
  const answer = h("div", { class: "live" });
  const raw = h("pre", { class: "raw" });
  const details = h("details", { hidden: true }, h("summary", null, "Raw answer of /lookup"), raw);
  const input = h("input", { name: "topic", placeholder: "topic", autocomplete: "off", required: true, value: selected ?? "", "aria-label": "topic to look up" });
  const form = h("form", { class: "inline-form", "data-form": "lookup" }, input, h("button", { class: "btn btn-primary", type: "submit" }, "Look up"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.value.trim()) ctx.navigate(lookupPath(input.value.trim()));
  });
  const el = h(
    "section",
    null,
    h("div", { class: "page-head" }, h("h1", null, "Lookup"), form),
    h("p", { class: "muted" }, "nsqlookupd's read API, answered by the same Worker: ", h("code", null, "GET /topics"), ", ", h("code", null, "GET /lookup?topic="), ", ", h("code", null, "GET /channels?topic="), "."),
    answer,
    details,
    h("h2", null, "Topics"),
    list,
  );
  return {
    title: selected ? `Lookup ${selected}` : "Lookup",
    el,
    async refresh() {
      const [topics, found] = await Promise.all([
        api.topics(),
        selected === null
          ? Promise.resolve(null)
          : api.lookup(selected).catch((e: unknown) => (e instanceof api.ApiError ? e : Promise.reject(e))),
      ]);
      fill(
        list,
        topics.topics.length === 0
          ? h("div", { class: "empty-state" }, "No topics.")
          : h("ul", { class: "chips" }, [...topics.topics].sort().map((t) => h("li", { class: t === selected ? "selected" : null }, link(lookupPath(t), t)))),
      );
      details.hidden = !found || found instanceof api.ApiError;
      raw.textContent = found && !(found instanceof api.ApiError) ? JSON.stringify(found, null, 2) : "";
      if (selected === null) {
        fill(answer, h("p", { class: "muted" }, "Pick a topic to see its /lookup answer."));
      } else if (found instanceof api.ApiError) {
        fill(answer, h("div", { class: "empty-state", "data-field": "lookup" }, h("code", null, `GET /lookup?topic=${selected}`), ` → ${found.status} ${found.message}`));
      } else if (found) {
        fill(
          answer,
          h(
            "div",
            { class: "lookup", "data-field": "lookup" },
            h("h2", null, "Topic ", link(topicPath(selected), selected)),
            h("p", null, h("b", null, "Channels: "), found.channels.length ? found.channels.join(", ") : "none"),
            h(
              "table",
              { class: "grid cards", "data-table": "producers" },
              h("thead", null, h("tr", null, ["Producer", "Broadcast address", "HTTP port", "TCP port", "Version"].map((x) => h("th", null, x)))),
              h(
                "tbody",
                null,
                found.producers.map((p) =>
                  h(
                    "tr",
                    null,
                    h("td", { "data-label": "Producer", class: "name" }, p.hostname),
                    h("td", { "data-label": "Broadcast address" }, p.broadcast_address),
                    h("td", { "data-label": "HTTP port" }, String(p.http_port)),
                    h("td", { "data-label": "TCP port" }, `${p.tcp_port} (/ws)`),
                    h("td", { "data-label": "Version" }, p.version),
                  ),
                ),
              ),
            ),
          ),
        );
      }
    },
  };
}
