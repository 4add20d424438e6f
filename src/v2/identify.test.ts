import { describe, expect, it } from "vitest";
import { config, VERSION } from "../config";
import { ProtocolError } from "../protocol/errors";
import { initialSettings, negotiate, parseIdentify, type IdentifyData, type Identified, type Settings } from "./identify";

const cfg = config({});
const start = initialSettings(cfg, "10.0.0.1");
const encoder = new TextEncoder();

/** The text of a response frame ([size][type 0][text]). */
function responseText(frame: Uint8Array): string {
  expect(new DataView(frame.buffer, frame.byteOffset).getUint32(4)).toBe(0);
  return new TextDecoder().decode(frame.subarray(8));
}

function ok(data: IdentifyData, current: Settings = start): Identified {
  const r = negotiate(current, cfg, data);
  if (r instanceof ProtocolError) throw new Error(`refused: ${r.message}`);
  return r;
}

function refused(data: IdentifyData): string {
  const r = negotiate(start, cfg, data);
  if (!(r instanceof ProtocolError)) throw new Error("accepted");
  expect(r.fatal).toBe(true);
  return r.message;
}

describe("initialSettings", () => {
  it("takes the config's values and names the client after its host", () => {
    expect(start).toEqual({
      clientId: "10.0.0.1",
      hostname: "10.0.0.1",
      userAgent: "",
      heartbeatInterval: cfg.heartbeatInterval,
      msgTimeout: cfg.msgTimeout,
      sampleRate: 0,
      outputBufferSize: 16 * 1024,
      outputBufferTimeout: cfg.outputBufferTimeout,
    });
  });
});

describe("parseIdentify", () => {
  const parse = (text: string) => parseIdentify(encoder.encode(text));
  const BAD = "E_BAD_BODY IDENTIFY failed to decode JSON body";

  it("reads an object; a JSON null is no fields; unknown and null fields are ignored", () => {
    expect(parse('{"client_id":"a","msg_timeout":5000}')).toEqual({ client_id: "a", msg_timeout: 5000 });
    expect(parse("null")).toEqual({});
    expect(parse('{"whatever":[1],"hostname":null}')).toEqual({ whatever: [1], hostname: null });
  });

  it.each([
    ["not JSON", "{"],
    ["a number", "5"],
    ["an array", "[]"],
    ["a string where a string field is", '{"client_id":5}'],
    ["a fraction where an integer is", '{"heartbeat_interval":1500.5}'],
    ["a string where an integer is", '{"msg_timeout":"5000"}'],
    ["a number where a boolean is", '{"feature_negotiation":1}'],
    ["a string where tls_v1 is", '{"tls_v1":"yes"}'],
  ])("refuses %s, fatally, with nsqd's text", (_what, text) => {
    const r = parse(text);
    expect(r).toBeInstanceOf(ProtocolError);
    expect((r as ProtocolError).message).toBe(BAD);
    expect((r as ProtocolError).fatal).toBe(true);
  });
});

describe("negotiate", () => {
  it("without fields: OK; the settings keep their values, the names become empty (as nsqd's)", () => {
    const r = ok({});
    expect(responseText(r.response)).toBe("OK");
    expect(r.settings).toEqual({ ...start, clientId: "", hostname: "", userAgent: "" });
  });

  it("takes the client's names", () => {
    const r = ok({ client_id: "c", hostname: "h", user_agent: "ua/1" });
    expect(r.settings).toMatchObject({ clientId: "c", hostname: "h", userAgent: "ua/1" });
  });

  it("heartbeat_interval: -1 disables, 0 keeps, 1000..max_heartbeat_interval is taken", () => {
    expect(ok({ heartbeat_interval: -1 }).settings.heartbeatInterval).toBe(0);
    expect(ok({ heartbeat_interval: 0 }, { ...start, heartbeatInterval: 7000 }).settings.heartbeatInterval).toBe(7000);
    expect(ok({ heartbeat_interval: 1000 }).settings.heartbeatInterval).toBe(1000);
    expect(ok({ heartbeat_interval: 60_000 }).settings.heartbeatInterval).toBe(60_000);
    expect(refused({ heartbeat_interval: 999 })).toBe("E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid");
    expect(refused({ heartbeat_interval: 60_001 })).toBe("E_BAD_BODY IDENTIFY heartbeat interval (60001) is invalid");
    expect(refused({ heartbeat_interval: -2 })).toBe("E_BAD_BODY IDENTIFY heartbeat interval (-2) is invalid");
  });

  it("output_buffer_timeout: -1 is 0, 0 keeps, 25..30000 is taken", () => {
    expect(ok({ output_buffer_timeout: -1 }).settings.outputBufferTimeout).toBe(0);
    expect(ok({ output_buffer_timeout: 0 }).settings.outputBufferTimeout).toBe(cfg.outputBufferTimeout);
    expect(ok({ output_buffer_timeout: 25 }).settings.outputBufferTimeout).toBe(25);
    expect(ok({ output_buffer_timeout: 30_000 }).settings.outputBufferTimeout).toBe(30_000);
    expect(refused({ output_buffer_timeout: 24 })).toBe("E_BAD_BODY IDENTIFY output buffer timeout (24) is invalid");
    expect(refused({ output_buffer_timeout: 30_001 })).toBe("E_BAD_BODY IDENTIFY output buffer timeout (30001) is invalid");
  });

  it("output_buffer_size: -1 is no buffer (size 1, timeout 0, whatever the timeout asked), 0 keeps, 64..65536 is taken", () => {
    expect(ok({ output_buffer_size: -1, output_buffer_timeout: 100 }).settings).toMatchObject({
      outputBufferSize: 1,
      outputBufferTimeout: 0,
    });
    expect(ok({ output_buffer_size: 0 }).settings.outputBufferSize).toBe(16 * 1024);
    expect(ok({ output_buffer_size: 64 }).settings.outputBufferSize).toBe(64);
    expect(ok({ output_buffer_size: 65_536 }).settings.outputBufferSize).toBe(65_536);
    expect(refused({ output_buffer_size: 63 })).toBe("E_BAD_BODY IDENTIFY output buffer size (63) is invalid");
    expect(refused({ output_buffer_size: 65_537 })).toBe("E_BAD_BODY IDENTIFY output buffer size (65537) is invalid");
  });

  it("sample_rate: 0..99", () => {
    expect(ok({ sample_rate: 0 }).settings.sampleRate).toBe(0);
    expect(ok({ sample_rate: 99 }).settings.sampleRate).toBe(99);
    expect(refused({ sample_rate: -1 })).toBe("E_BAD_BODY IDENTIFY sample rate (-1) is invalid");
    expect(refused({ sample_rate: 100 })).toBe("E_BAD_BODY IDENTIFY sample rate (100) is invalid");
  });

  it("msg_timeout: 0 keeps, 1000..max_msg_timeout is taken", () => {
    expect(ok({ msg_timeout: 0 }, { ...start, msgTimeout: 5000 }).settings.msgTimeout).toBe(5000);
    expect(ok({ msg_timeout: 1000 }).settings.msgTimeout).toBe(1000);
    expect(ok({ msg_timeout: cfg.maxMsgTimeout }).settings.msgTimeout).toBe(cfg.maxMsgTimeout);
    expect(refused({ msg_timeout: 999 })).toBe("E_BAD_BODY IDENTIFY msg timeout (999) is invalid");
    expect(refused({ msg_timeout: cfg.maxMsgTimeout + 1 })).toBe(
      `E_BAD_BODY IDENTIFY msg timeout (${cfg.maxMsgTimeout + 1}) is invalid`,
    );
  });

  it("checks in nsqd's order: heartbeat, output buffer timeout, size, sample rate, msg timeout", () => {
    const all = { heartbeat_interval: 1, output_buffer_timeout: 1, output_buffer_size: 1, sample_rate: 100, msg_timeout: 1 };
    expect(refused(all)).toMatch(/heartbeat interval/);
    expect(refused({ ...all, heartbeat_interval: 0 })).toMatch(/output buffer timeout/);
    expect(refused({ ...all, heartbeat_interval: 0, output_buffer_timeout: 0 })).toMatch(/output buffer size/);
    expect(refused({ ...all, heartbeat_interval: 0, output_buffer_timeout: 0, output_buffer_size: 0 })).toMatch(/sample rate/);
    expect(refused({ msg_timeout: 1 })).toMatch(/msg timeout/);
  });

  it("a refusal leaves the current settings as they were", () => {
    const current = { ...start };
    negotiate(current, cfg, { heartbeat_interval: 5000, msg_timeout: 1 });
    expect(current).toEqual(start);
  });

  it("feature_negotiation: nsqd's fields in nsqd's order, with the negotiated values; TLS and compression off", () => {
    const r = ok({
      feature_negotiation: true,
      msg_timeout: 5000,
      sample_rate: 7,
      output_buffer_size: 100,
      output_buffer_timeout: 50,
      tls_v1: true,
      deflate: true,
      snappy: true,
    } as IdentifyData);
    const text = responseText(r.response);
    expect(Object.keys(JSON.parse(text))).toEqual([
      "max_rdy_count", "version", "max_msg_timeout", "msg_timeout", "tls_v1", "deflate", "deflate_level",
      "max_deflate_level", "snappy", "sample_rate", "auth_required", "output_buffer_size",
      "output_buffer_timeout", "topology_region", "topology_zone",
    ]);
    expect(JSON.parse(text)).toEqual({
      max_rdy_count: cfg.maxRdyCount,
      version: VERSION,
      max_msg_timeout: cfg.maxMsgTimeout,
      msg_timeout: 5000,
      tls_v1: false,
      deflate: false,
      deflate_level: 6,
      max_deflate_level: 6,
      snappy: false,
      sample_rate: 7,
      auth_required: false,
      output_buffer_size: 100,
      output_buffer_timeout: 50,
      topology_region: "",
      topology_zone: "",
    });
  });

  it("feature_negotiation false or absent: OK", () => {
    expect(responseText(ok({ feature_negotiation: false }).response)).toBe("OK");
    expect(responseText(ok({ feature_negotiation: null }).response)).toBe("OK");
  });
});
