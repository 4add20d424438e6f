// A small typed event emitter that runs everywhere (no node:events in the browser build).
// Unlike Node's, an "error" event with no listener is not thrown.

export type Listener = (...args: any[]) => unknown;

export class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private listeners = new Map<keyof Events, Events[keyof Events][]>();

  on<K extends keyof Events>(event: K, listener: Events[K]): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
    return this;
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): this {
    const list = this.listeners.get(event);
    if (list) this.listeners.set(event, list.filter((l) => l !== listener));
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Events[K]): this {
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper);
      return listener(...args);
    }) as Events[K];
    return this.on(event, wrapper);
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls every listener; returns their results (a listener that throws is reported as "error"). */
  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): unknown[] {
    const list = this.listeners.get(event);
    if (!list?.length) return [];
    const results: unknown[] = [];
    for (const l of [...list]) {
      try {
        results.push(l(...args));
      } catch (e) {
        if (event === "error") continue;
        results.push(Promise.reject(e));
      }
    }
    return results;
  }
}
