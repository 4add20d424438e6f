// What the admin UI tests share: waiting on the page.
import type { Page } from "playwright-core";

/** Waits until the element's text (trimmed) matches; the failure says what the text was. */
export async function waitText(page: Page, selector: string, expected: string | RegExp, timeout = 10_000) {
  const pattern = typeof expected === "string" ? `^${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$` : expected.source;
  try {
    await page.waitForFunction(
      ([sel, re]) => {
        const el = document.querySelector(sel);
        return !!el && new RegExp(re).test((el.textContent ?? "").trim());
      },
      [selector, pattern] as const,
      { timeout },
    );
  } catch (e) {
    const now = await page.locator(selector).first().textContent({ timeout: 100 }).catch(() => "(absent)");
    throw new Error(`${selector}: expected ${expected}, have ${JSON.stringify(now)}\n${e}`);
  }
}

/** Waits until a form control's value (a checkbox: "true"/"false") is `expected`. */
export async function waitValue(page: Page, selector: string, expected: string, timeout = 10_000) {
  try {
    await page.waitForFunction(
      ([sel, want]) => {
        const el = document.querySelector<HTMLInputElement | HTMLSelectElement>(sel);
        if (!el) return false;
        return (el instanceof HTMLInputElement && el.type === "checkbox" ? String(el.checked) : el.value) === want;
      },
      [selector, expected] as const,
      { timeout },
    );
  } catch (e) {
    const now = await page.locator(selector).first().inputValue({ timeout: 100 }).catch(() => "(absent)");
    throw new Error(`${selector}: expected value ${JSON.stringify(expected)}, have ${JSON.stringify(now)}\n${e}`);
  }
}
