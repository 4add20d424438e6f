// Confirmation for destructive actions (a modal <dialog>) and short notices.
import { h } from "./dom";

/** Asks before a destructive action; resolves true when the operator confirms. */
export function confirmAction(title: string, message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", class: "btn", "data-confirm": "cancel" }, "Cancel");
    const ok = h("button", { type: "button", class: "btn btn-danger", "data-confirm": "ok" }, confirmLabel);
    const dialog = h("dialog", { class: "confirm", "aria-label": title }, h("h3", null, title), h("p", null, message), h("div", { class: "dialog-actions" }, cancel, ok));
    const done = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener("click", () => done(false));
    ok.addEventListener("click", () => done(true));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

let notices: HTMLElement | null = null;

/** A notice at the top of the page for a few seconds: errors stay longer. */
export function notify(text: string, kind: "ok" | "error" = "ok") {
  notices ??= document.getElementById("notices");
  if (!notices) return;
  const el = h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  const close = h("button", { type: "button", class: "notice-close", "aria-label": "dismiss" }, "×");
  close.addEventListener("click", () => el.remove());
  el.append(close);
  notices.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 3000);
}
