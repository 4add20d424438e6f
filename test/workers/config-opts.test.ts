// GET/PUT /config/:opt as nsqd's: an option's value as JSON by its config name (durations in ns);
// an unknown one and every PUT (the options are the deploy's vars) answer nsqd's 400 INVALID_OPTION.
import { describe, expect, it } from "vitest";
import { http } from "../helpers/workers";

const get = async (opt: string) => {
  const r = await http(`/config/${opt}`);
  return { status: r.status, body: await r.json() };
};

describe("/config/:opt", () => {
  it("answers the options there are, as nsqd's JSON", async () => {
    expect(await get("max_msg_size")).toEqual({ status: 200, body: 1048576 });
    expect(await get("msg_timeout")).toEqual({ status: 200, body: 60e9 });
    expect(await get("max_req_timeout")).toEqual({ status: 200, body: 3600e9 });
    expect(await get("e2e_processing_latency_window_time")).toEqual({ status: 200, body: 600e9 });
    expect(await get("e2e_processing_latency_percentiles")).toEqual({ status: 200, body: [] });
    expect(await get("nsqlookupd_tcp_addresses")).toEqual({ status: 200, body: [] });
    const list = (await (await http("/config")).json()) as { options: string[] };
    expect(list.options).toContain("max_rdy_count");
    for (const opt of list.options) expect((await get(opt)).status, opt).toBe(200);
  });

  it("an unknown option, or one of an object's own properties, is 400 INVALID_OPTION", async () => {
    for (const opt of ["nope", "constructor", "__proto__", "toString"]) expect(await get(opt)).toEqual({ status: 400, body: { message: "INVALID_OPTION" } });
  });

  it("PUT: nsqd's body check (413 INVALID_VALUE), then 400 INVALID_OPTION: nothing can be set", async () => {
    const put = async (opt: string, body?: string) => {
      const r = await http(`/config/${opt}`, { method: "PUT", body });
      return { status: r.status, body: await r.json() };
    };
    expect(await put("log_level")).toEqual({ status: 413, body: { message: "INVALID_VALUE" } });
    expect(await put("log_level", "debug")).toEqual({ status: 400, body: { message: "INVALID_OPTION" } });
    expect(await put("max_msg_size", "10")).toEqual({ status: 400, body: { message: "INVALID_OPTION" } });
    expect(await get("max_msg_size")).toEqual({ status: 200, body: 1048576 });
    expect((await http("/config/max_msg_size", { method: "POST" })).status).toBe(405);
  });
});
