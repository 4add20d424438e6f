// Waiting in tests: a pause, and polling a check until it passes.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries `check` (which throws, e.g. through expect) until it passes or `timeoutMs` is over;
 * then throws its last error. Returns what `check` returned.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
    await sleep(everyMs);
  }
}
