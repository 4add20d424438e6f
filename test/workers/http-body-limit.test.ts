// A body without Content-Length (chunked) over the limit is refused with 413 once it passes the
// limit, as nsqd's io.LimitReader does, not read to its end: the stream here never ends.
import { describe, expect, it } from "vitest";
import { http, unique, type StatsDoc } from "../helpers/workers";

const MAX_MSG = 1048576;
const MAX_BODY = 5242880;

/** A chunked body: `total` bytes in 64 KiB chunks, then it stays open (never closes). */
function endless(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return new Promise(() => {});
      const n = Math.min(65536, total - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(120));
    },
  });
}

async function refused(path: string, total: number, message: string) {
  const r = await http(path, { method: "POST", body: endless(total) });
  expect(r.status).toBe(413);
  expect(await r.json()).toEqual({ message });
}

describe("a chunked body over the limit", () => {
  it("/pub: 413 MSG_TOO_BIG past max_msg_size, without the body's end", async () => {
    await refused(`/pub?topic=${unique("lim")}`, MAX_MSG + 1, "MSG_TOO_BIG");
  });

  it("/mpub: 413 BODY_TOO_BIG past max_body_size, without the body's end", async () => {
    await refused(`/mpub?topic=${unique("lim")}`, MAX_BODY + 1, "BODY_TOO_BIG");
    await refused(`/mpub?topic=${unique("lim")}&binary=true`, MAX_BODY + 1, "BODY_TOO_BIG");
  });

  it("a chunked body within the limit is published whole", async () => {
    const topic = unique("lim");
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of ["a\n", "bb", "\nccc"]) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const r = await http(`/mpub?topic=${topic}`, { method: "POST", body });
    expect(await r.text()).toBe("OK");
    const stats = await (await http(`/stats?format=json&topic=${topic}`)).json<StatsDoc>();
    expect(stats.topics![0].message_count).toBe(3);
  });
});
