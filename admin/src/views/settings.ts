// A topic's or channel's settings (src/settings.ts): a form that shows them as /stats reports
// them and sends only the keys the operator changed (POST /topic/config, /channel/config). The
// service is the one validator: its error code is shown under the form and on the field it names.
// A change that can drop queued messages (a shorter TTL, a tighter bound that pushes out the
// oldest) asks first.
import * as api from "../api";
import { mayAct } from "../auth";
import type { Ctx } from "../app";
import { confirmAction, notify } from "../dialog";
import { commafy, h } from "../dom";
import { formatDuration, parseDuration } from "../../../src/settings";

type Value = string | number | boolean;
type Config = Record<string, Value>;

interface Field {
  key: string;
  label: string;
  kind: "count" | "duration" | "text" | "flag" | "overflow";
  hint: string;
}

const TOPIC_FIELDS: Field[] = [
  { key: "msg_ttl", label: "Message TTL", kind: "duration", hint: "older messages are delivered by no channel (0s: no limit)" },
  { key: "dedup_window", label: "Dedup window", kind: "duration", hint: "a publish repeating an idempotency key seen this recently is stored once (0s: off)" },
  { key: "dedup_content", label: "Dedup by content", kind: "flag", hint: "without a key, a body repeated within the window is a duplicate" },
];

const CHANNEL_FIELDS: Field[] = [
  { key: "max_attempts", label: "Max attempts", kind: "count", hint: "deliveries before a message that fails again is dead-lettered (0: no limit)" },
  { key: "dead_letter_topic", label: "Dead-letter topic", kind: "text", hint: "where dead letters go (empty: <topic>.dead)" },
  { key: "msg_ttl", label: "Message TTL", kind: "duration", hint: "older messages are never delivered (0s: no limit)" },
  { key: "max_depth", label: "Max depth", kind: "count", hint: "messages held, queued, in flight or deferred (0: no bound)" },
  { key: "max_bytes", label: "Max bytes", kind: "count", hint: "bytes of body held (0: no bound)" },
  { key: "overflow", label: "Overflow", kind: "overflow", hint: "a publish beyond a bound fails (reject) or pushes out the oldest (drop_oldest)" },
  { key: "retention", label: "Retention", kind: "duration", hint: "finished messages are kept this long (0s: not kept)" },
];

/** What a settings form needs from its page. */
interface Spec {
  name: "topic-settings" | "channel-settings";
  /** "topic orders", "channel billing of topic orders": for notices and the confirmation. */
  what: string;
  fields: Field[];
  editable: boolean;
  save(changes: api.ConfigChanges): Promise<Config>;
  /** Why `changes` to `current` can drop queued messages (none: no confirmation). */
  drops(current: Config, changes: api.ConfigChanges): string[];
}

export interface SettingsForm {
  el: HTMLFormElement;
  /** The settings as the service reports them now (/stats's `config`). */
  update(config: Config | undefined): void;
}

/** A topic's msg_ttl, dedup_window and dedup_content. `depth`: what its channels hold, read when saving. */
export function topicSettings(ctx: Ctx, topic: string, depth: () => number): SettingsForm {
  return settingsForm(ctx, {
    name: "topic-settings",
    what: `topic ${topic}`,
    fields: TOPIC_FIELDS,
    editable: mayAct(topic),
    save: (changes) => api.setTopicConfig(topic, changes),
    drops(current, changes) {
      const ttl = shorterTtl(current, changes);
      return ttl === null ? [] : [`messages older than ${formatDuration(ttl)} expire, in every channel (${commafy(depth())} queued now)`];
    },
  });
}

/** A channel's dead letters, TTL, bounds and retention. `held`: what it holds, read when saving. */
export function channelSettings(ctx: Ctx, topic: string, channel: string, held: () => { depth: number; bytes: number }): SettingsForm {
  return settingsForm(ctx, {
    name: "channel-settings",
    what: `channel ${channel} of topic ${topic}`,
    fields: CHANNEL_FIELDS,
    editable: mayAct(topic, channel),
    save: (changes) => api.setChannelConfig(topic, channel, changes),
    drops(current, changes) {
      const { depth, bytes } = held();
      const ttl = shorterTtl(current, changes);
      const maxDepth = tighterBound(current, changes, "max_depth");
      const maxBytes = tighterBound(current, changes, "max_bytes");
      return [
        ttl === null ? null : `messages older than ${formatDuration(ttl)} expire`,
        maxDepth === null ? null : `the oldest beyond ${commafy(maxDepth)} go at once (it holds ${commafy(depth)} messages)`,
        maxBytes === null ? null : `the oldest go until it holds at most ${commafy(maxBytes)} bytes (it holds ${commafy(bytes)})`,
      ].filter((x) => x !== null);
    },
  });
}

// A limit of 0 is none: as a bound, infinitely far. A value the service will refuse (NaN, a
// negative) counts as none too, so that it asks nothing and the service answers its code.
const limit = (n: number) => (n > 0 ? n : Infinity);
const durationOf = (v: Value | null | undefined) => limit(parseDuration(v ?? 0) ?? 0);
const countOf = (v: Value | null | undefined) => limit(Number(v ?? 0) || 0);

/** The new msg_ttl (ms) when it is shorter than the current one: what is already older expires. */
function shorterTtl(current: Config, changes: api.ConfigChanges): number | null {
  if (!("msg_ttl" in changes)) return null;
  const after = durationOf(changes.msg_ttl);
  return after < durationOf(current.msg_ttl) ? after : null;
}

/** The new max_depth or max_bytes when tighter with overflow drop_oldest: the oldest go at once (reject only refuses publishes). */
function tighterBound(current: Config, changes: api.ConfigChanges, key: "max_depth" | "max_bytes"): number | null {
  const bound = (c: Record<string, Value | null>) => ((c.overflow ?? "reject") === "drop_oldest" ? countOf(c[key]) : Infinity);
  const after = bound({ ...current, ...changes });
  return after < bound(current) ? after : null;
}

/** One field's control: what it shows as a string, so that every kind compares the same way. */
interface Control {
  field: Field;
  input: HTMLInputElement | HTMLSelectElement;
  get(): string;
  set(v: string): void;
  /** What the form last wrote into it: the operator changed it when get() differs. */
  shown: string | null;
}

function control(field: Field, editable: boolean): Control {
  const attrs = { name: field.key, id: `setting-${field.key}`, disabled: !editable, "aria-describedby": `setting-${field.key}-hint` };
  if (field.kind === "flag") {
    const input = h("input", { ...attrs, type: "checkbox" });
    return { field, input, shown: null, get: () => String(input.checked), set: (v) => void (input.checked = v === "true") };
  }
  if (field.kind === "overflow") {
    const input = h("select", attrs, h("option", { value: "reject" }, "reject"), h("option", { value: "drop_oldest" }, "drop_oldest"));
    return { field, input, shown: null, get: () => input.value, set: (v) => void (input.value = v) };
  }
  // Text for numbers too: a browser's own validation would refuse what the service answers with its code.
  const input = h("input", { ...attrs, type: "text", autocomplete: "off", spellcheck: "false", inputmode: field.kind === "count" ? "numeric" : null });
  return { field, input, shown: null, get: () => input.value.trim(), set: (v) => void (input.value = v) };
}

/** What a changed field sends: empty is the default (null); digits a number (for a duration, ms). */
function changeOf(c: Control): Value | null {
  const v = c.get();
  if (c.field.kind === "flag") return v === "true";
  if (v === "") return null;
  if ((c.field.kind === "count" || c.field.kind === "duration") && /^\d+$/.test(v)) return Number(v);
  return v;
}

function settingsForm(ctx: Ctx, spec: Spec): SettingsForm {
  const controls = spec.fields.map((f) => control(f, spec.editable));
  const error = h("p", { class: "settings-error", role: "alert", "data-field": "settings-error", hidden: true });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
  const revert = h("button", { type: "button", class: "btn", "data-button": "revert" }, "Revert");
  const form = h(
    "form",
    { class: "settings", "data-form": spec.name },
    h(
      "div",
      { class: "settings-fields" },
      controls.map((c) =>
        h(
          "div",
          { class: `setting setting-${c.field.kind}`, "data-setting": c.field.key },
          h("label", { for: c.input.id }, c.field.label),
          c.input,
          h("small", { id: `setting-${c.field.key}-hint` }, c.field.hint),
        ),
      ),
    ),
    spec.editable ? h("div", { class: "settings-actions" }, save, revert, error) : null,
  );
  let current: Config | null = null;

  const showError = (code: string | null) => {
    error.hidden = code === null;
    error.textContent = code ?? "";
    // The service's codes name the field: INVALID_MAX_DEPTH is max_depth's.
    for (const c of controls) {
      if (code === `INVALID_${c.field.key.toUpperCase()}`) c.input.setAttribute("aria-invalid", "true");
      else c.input.removeAttribute("aria-invalid");
    }
  };

  /** Writes `config` into the fields the operator has not changed (all of them when `all`). */
  const write = (config: Config, all: boolean) => {
    current = config;
    for (const c of controls) {
      if (!(c.field.key in config)) continue;
      const v = String(config[c.field.key]);
      if (all || c.shown === null || c.get() === c.shown) {
        c.set(v);
        c.shown = v;
      }
    }
  };

  revert.addEventListener("click", () => {
    if (current) write(current, true);
    showError(null);
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!current) return;
    const before = current;
    const changes: api.ConfigChanges = {};
    for (const c of controls) if (c.get() !== String(before[c.field.key])) changes[c.field.key] = changeOf(c);
    showError(null);
    if (Object.keys(changes).length === 0) return notify(`The settings of ${spec.what} are as shown: nothing to save`);
    const drops = spec.drops(before, changes);
    if (drops.length > 0 && !(await confirmAction(`Change the settings of ${spec.what}?`, `Saving can drop queued messages of ${spec.what}: ${drops.join("; ")}.`, "Save settings"))) return;
    save.disabled = true;
    try {
      write(await spec.save(changes), true);
    } catch (err) {
      // A 401 has put up the login form already: nothing to add.
      if (!(err instanceof api.ApiError && err.status === 401)) showError(err instanceof Error ? err.message : String(err));
      return;
    } finally {
      save.disabled = false;
    }
    notify(`Settings of ${spec.what} saved`);
    ctx.refreshNow();
  });

  return {
    el: form,
    update(config) {
      if (config) write(config, false);
    },
  };
}
