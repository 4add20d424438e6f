// Nodes: what /nodes answers, each linked to its page. nsq-edge is one node (the Worker) that
// produces every topic.
import * as api from "../api";
import { BASE, link, topicPath, type View } from "../app";
import { commafy, fill, h } from "../dom";

export function nodesView(): View {
  const live = h("div", { class: "live" });
  const raw = h("pre", { class: "raw" });
  const el = h(
    "section",
    null,
    h("div", { class: "page-head" }, h("h1", null, "Nodes")),
    h("p", { class: "muted" }, "The producers nsqlookupd's ", h("code", null, "GET /nodes"), " lists: the Worker serves the nsqd HTTP API and the V2 protocol (as a WebSocket at ", h("code", null, "/ws"), ") for every topic."),
    live,
    h("details", null, h("summary", null, "Raw answer of /nodes"), raw),
  );
  return {
    title: "Nodes",
    el,
    async refresh() {
      const nodes = await api.nodes();
      raw.textContent = JSON.stringify(nodes, null, 2);
      fill(
        live,
        nodes.producers.length === 0
          ? h("div", { class: "empty-state" }, "No nodes.")
          : h(
              "table",
              { class: "grid cards", "data-table": "nodes" },
              h("thead", null, h("tr", null, ["Hostname", "Broadcast address", "HTTP port", "TCP port", "Version", "Topics"].map((x) => h("th", null, x)))),
              h(
                "tbody",
                null,
                nodes.producers.map((p) =>
                  h(
                    "tr",
                    { "data-node": p.remote_address },
                    h("td", { "data-label": "Hostname", class: "name" }, link(nodePath(nodeName(p)), p.hostname)),
                    h("td", { "data-label": "Broadcast address" }, p.broadcast_address),
                    h("td", { "data-label": "HTTP port" }, String(p.http_port)),
                    h("td", { "data-label": "TCP port", title: "V2 over WebSocket at /ws" }, `${p.tcp_port} (/ws)`),
                    h("td", { "data-label": "Version" }, p.version),
                    h(
                      "td",
                      { "data-label": "Topics", class: "wrap" },
                      h("span", { class: "badge" }, commafy(p.topics?.length ?? 0)),
                      " ",
                      (p.topics ?? []).slice(0, 50).map((t, i) => [i ? ", " : "", link(topicPath(t), t)]),
                      (p.topics?.length ?? 0) > 50 ? ", …" : null,
                    ),
                  ),
                ),
              ),
            ),
      );
    },
  };
}

/** How nsqadmin names a node in its paths: broadcast_address:http_port. */
export const nodeName = (p: api.PeerInfo) => `${p.broadcast_address}:${p.http_port}`;
export const nodePath = (node: string) => `${BASE}/nodes/${encodeURIComponent(node)}`;

export const lookupPath = (topic?: string) => `${BASE}/lookup${topic ? `?topic=${encodeURIComponent(topic)}` : ""}`;
