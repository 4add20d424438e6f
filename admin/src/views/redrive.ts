// A dead-letter channel's redrive (POST /channel/redrive): its messages go back where each came
// from, to the channel it died in or to that channel's topic, at a rate cap; confirmed first,
// since the channel empties as they go. The state is /stats's `redrive`.
import * as api from "../api";
import type { Ctx } from "../app";
import { confirmAction, notify } from "../dialog";
import { commafy, fill, h } from "../dom";

export interface RedrivePart {
  el: HTMLElement;
  /** Shows the part (`shown`) with the channel's redrive as /stats has it. */
  update(c: api.ChannelStats, shown: boolean): void;
}

const WHERE: Record<api.RedriveTo, string> = {
  channel: "the channel each died in",
  topic: "the topic each came from (every channel gets a copy)",
};

export function redrivePart(ctx: Ctx, topic: string, channel: string, depth: () => number): RedrivePart {
  const state = h("div", { class: "live", "data-field": "redrive" });
  const rate = h("input", { name: "rate", type: "number", min: 1, max: 10000, value: 100, required: true, "aria-label": "messages per second" });
  const to = h("select", { name: "to", "aria-label": "redrive to" }, h("option", { value: "channel" }, "to their channel"), h("option", { value: "topic" }, "to their topic"));
  const start = h("button", { class: "btn btn-warn", type: "submit" }, "Redrive");
  const form = h("form", { class: "inline-form", "data-form": "redrive" }, rate, h("span", { class: "unit" }, "/s"), to, start);
  const el = h("div", { hidden: true }, h("div", { class: "page-head" }, h("h2", null, "Redrive"), form), state);

  /** rate 0 stops. */
  async function run(r: number, where: api.RedriveTo) {
    try {
      const answer = await api.redrive(topic, channel, r, where);
      notify(r === 0 ? `Redrive of channel ${channel} stopped: ${commafy(answer.moved)} moved` : `Redrive of channel ${channel} started: ${commafy(r)}/s to ${where}`);
    } catch (e) {
      if (!(e instanceof api.ApiError && e.status === 401)) notify(`redrive ${channel} of topic ${topic}: ${e instanceof Error ? e.message : e}`, "error");
      return;
    }
    ctx.refreshNow();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = Number(rate.value);
    const where = to.value as api.RedriveTo;
    const queued = depth();
    const what = queued > 0 ? `Its ${commafy(queued)} queued message${queued === 1 ? "" : "s"}` : "Its messages";
    if (!(await confirmAction(`Redrive channel ${channel}?`, `${what} leave channel ${channel} of topic ${topic} for ${WHERE[where]}, at most ${commafy(r)} a second, until it is empty or the redrive is stopped.`, "Start redrive"))) return;
    start.disabled = true;
    await run(r, where).finally(() => (start.disabled = false));
  });

  return {
    el,
    update(c, shown) {
      el.hidden = !shown;
      if (!shown) return;
      const r = c.redrive;
      fill(
        state,
        !r
          ? h("p", { class: "muted", "data-field": "redrive-state" }, "No redrive since the channel's object started.")
          : h(
              "p",
              { "data-field": "redrive-state" },
              h("span", { class: r.running ? "badge badge-ok" : "badge" }, r.running ? "running" : "stopped"),
              ` ${commafy(r.moved)} moved to their ${r.to}, at most ${commafy(r.rate)}/s`,
              r.error ? h("span", { class: "redrive-error" }, ` · ${r.error}`) : null,
              r.running ? [" ", h("button", { type: "button", class: "btn btn-small", "data-button": "stop-redrive", onclick: () => void run(0, r.to as api.RedriveTo) }, "Stop")] : null,
            ),
      );
    },
  };
}
