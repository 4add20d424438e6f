// The login form, shown instead of the pages while the service wants a token and the tab has
// none it accepts.
import { h } from "./dom";

export interface LoginForm {
  el: HTMLElement;
  /** Shows why the last attempt failed (null: no error line). */
  setError(message: string | null): void;
}

export function loginForm(submit: (secret: string) => void): LoginForm {
  const input = h("input", { type: "password", name: "token", required: true, autocomplete: "off", spellcheck: "false", "aria-label": "token" });
  const button = h("button", { class: "btn btn-primary", type: "submit" }, "Log in");
  const error = h("p", { class: "login-error", role: "alert", "data-field": "login-error", hidden: true });
  const form = h("form", { class: "inline-form", "data-form": "login" }, input, button);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const secret = input.value.trim();
    if (!secret) return;
    input.value = "";
    submit(secret);
  });
  const el = h(
    "section",
    { class: "login" },
    h("h1", null, "Log in"),
    h("p", { "data-field": "login-reason" }, "This service requires a token."),
    form,
    error,
    h("p", { class: "muted" }, "The token is kept for this tab only and sent to this service as ", h("code", null, "Authorization: Bearer"), "; closing the tab or logging out forgets it."),
  );
  queueMicrotask(() => input.focus());
  return {
    el,
    setError(message) {
      error.hidden = message === null;
      error.textContent = message ?? "";
    },
  };
}
