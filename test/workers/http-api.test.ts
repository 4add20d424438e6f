// nsqd's HTTP API and nsqlookupd's read API through the Worker: paths, parameters, status codes,
// bodies, headers and error strings as nsqd 1.3.0 answers them (see the HTTP API spec).
import { afterEach, describe, expect, it } from "vitest";
import type { TopicStats } from "../../src/stats";
import { cmd, text, type TestClient } from "../helpers/v2client";
import { connect, http, post, statsJson, unique, type StatsDoc } from "../helpers/workers";

const enc = new TextEncoder();
const NSQ_HEADER = "nsq; version=1.0";
const MAX_MSG = 1048576;
const MAX_BODY = 5242880;

const clients: TestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) if (!c.closed) c.close();
});

async function consumer(topic: string, channel: string, rdy: number): Promise<TestClient> {
  const c = await connect();
  clients.push(c);
  await c.subscribe(topic, channel, rdy);
  return c;
}

/** Subscribes a fresh channel and takes exactly `n` messages (FIN each); nothing more may come. */
async function drain(topic: string, n: number): Promise<string[]> {
  const c = await consumer(topic, unique("drain"), Math.max(n, 1));
  const got = await c.messages(n);
  for (const m of got) c.send(cmd.fin(m.id));
  expect(await c.maybeNext(150)).toBeNull();
  c.close();
  return got.map(text);
}

/** nsqd's V1 error: the status, `{"message":"..."}` exactly, JSON content type, the X-NSQ header. */
async function expectError(res: Response | Promise<Response>, status: number, message: string) {
  const r = await res;
  const body = await r.text();
  expect({ status: r.status, body }).toEqual({ status, body: JSON.stringify({ message }) });
  expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
}

/** A bodiless V1 success (nsqd's admin endpoints): 200, empty body, no Content-Type. */
async function expectEmptyOk(res: Response | Promise<Response>) {
  const r = await res;
  expect({ status: r.status, body: await r.text() }).toEqual({ status: 200, body: "" });
  expect(r.headers.get("content-type")).toBeNull();
  expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
}

async function expectOkText(res: Response | Promise<Response>) {
  const r = await res;
  expect({ status: r.status, body: await r.text() }).toEqual({ status: 200, body: "OK" });
  expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
}

async function topicStats(topic: string): Promise<TopicStats | null> {
  const s = await statsJson(`&topic=${encodeURIComponent(topic)}`);
  return s.topics?.[0] ?? null;
}

async function topicExists(topic: string): Promise<boolean> {
  const r = await http(`/lookup?topic=${encodeURIComponent(topic)}`);
  await r.body?.cancel();
  return r.status === 200;
}

const EXTRA_CHANNEL_KEYS = ["zone_local_msg_count", "region_local_msg_count", "global_msg_count",
  // nsq-edge's settings and what they did (src/settings.ts), after nsqd's keys.
  "dead_count", "finish_count", "delivery_count", "expired_count", "dropped_count", "held_bytes", "config"];
const EXTRA_TOPIC_KEYS = ["duplicate_count", "rejected_count", "config"];

describe("GET /ping", () => {
  it("answers plain OK without the X-NSQ header", async () => {
    const r = await http("/ping");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("OK");
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(r.headers.get("x-nsq-content-type")).toBeNull();
  });
});

describe("GET /info", () => {
  it("has nsqd's fields in nsqd's order", async () => {
    const r = await http("/info");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
    const info = await r.json<any>();
    expect(Object.keys(info)).toEqual([
      "version", "broadcast_address", "hostname", "http_port", "tcp_port", "start_time",
      "max_heartbeat_interval", "max_output_buffer_size", "max_output_buffer_timeout",
      "max_deflate_level", "topology_zone", "topology_region",
    ]);
    expect(info).toMatchObject({
      version: "1.3.0",
      broadcast_address: "nsq.test",
      hostname: "nsq.test",
      http_port: 80,
      tcp_port: 80,
      max_heartbeat_interval: 60_000_000_000,
      max_output_buffer_size: 65536,
      max_output_buffer_timeout: 30_000_000_000,
      max_deflate_level: 6,
      topology_zone: "",
      topology_region: "",
    });
    expect(Number.isInteger(info.start_time)).toBe(true);
    expect(info.start_time).toBeLessThanOrEqual(Date.now() / 1000);
    expect(info.start_time).toBeGreaterThan(Date.now() / 1000 - 3600);
  });
});

describe("POST /pub", () => {
  it("answers OK as text with the X-NSQ header and publishes the body byte for byte", async () => {
    const topic = unique("pub");
    const body = new Uint8Array([0, 1, 10, 13, 255, 32, 10]);
    const r = await post(`/pub?topic=${topic}`, body);
    await expectOkText(r);
    const c = await consumer(topic, "ch", 1);
    const m = await c.message();
    expect(Array.from(m.body)).toEqual(Array.from(body));
    expect(m.attempts).toBe(1);
    expect(m.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("refuses an empty body with 400 MSG_EMPTY, before looking at the topic", async () => {
    await expectError(post(`/pub?topic=${unique()}`, ""), 400, "MSG_EMPTY");
    await expectError(post(`/pub?topic=${unique()}`), 400, "MSG_EMPTY");
    await expectError(post("/pub", ""), 400, "MSG_EMPTY");
  });

  it("accepts a body of exactly max_msg_size and refuses one byte more with 413 MSG_TOO_BIG", async () => {
    const topic = unique("big");
    await expectOkText(post(`/pub?topic=${topic}`, new Uint8Array(MAX_MSG).fill(120)));
    await expectError(post(`/pub?topic=${topic}`, new Uint8Array(MAX_MSG + 1)), 413, "MSG_TOO_BIG");
    // The size is checked before the topic.
    await expectError(post("/pub?topic=a/b", new Uint8Array(MAX_MSG + 1)), 413, "MSG_TOO_BIG");
    expect((await topicStats(topic))!.message_count).toBe(1);
  });

  it("needs a topic: 400 MISSING_ARG_TOPIC", async () => {
    await expectError(post("/pub", "x"), 400, "MISSING_ARG_TOPIC");
    await expectError(post("/pub?channel=x", "x"), 400, "MISSING_ARG_TOPIC");
  });

  for (const [what, q] of [
    ["a/b", "a/b"],
    ["a%2Fb", "a%2Fb"],
    ["65 characters", "a".repeat(65)],
    ["empty", ""],
    ["a space", "a+b"],
    ["a lone #ephemeral", "%23ephemeral"],
    ["a bad suffix", "a%23b"],
    ["unicode", "%C3%A9"],
  ]) {
    it(`refuses a topic name with ${what}: 400 INVALID_TOPIC`, async () => {
      await expectError(post(`/pub?topic=${q}`, "x"), 400, "INVALID_TOPIC");
    });
  }

  it("accepts names of 64 characters, with . _ - and an #ephemeral suffix", async () => {
    const id = unique("n").slice(2);
    await expectOkText(post(`/pub?topic=${(id + "x".repeat(64)).slice(0, 64)}`, "x"));
    await expectOkText(post(`/pub?topic=a.b_c-${id}`, "x"));
    await expectOkText(post(`/pub?topic=e-${id}%23ephemeral`, "x"));
  });

  for (const defer of ["-1", "abc", "3600001", "", "1.5", "1e3", "99999999999999999999"]) {
    it(`refuses defer=${JSON.stringify(defer)}: 400 INVALID_DEFER`, async () => {
      await expectError(post(`/pub?topic=${unique()}&defer=${defer}`, "x"), 400, "INVALID_DEFER");
    });
  }

  it("creates the topic before it checks defer, as nsqd does", async () => {
    const topic = unique("defer");
    await expectError(post(`/pub?topic=${topic}&defer=-1`, "x"), 400, "INVALID_DEFER");
    expect(await topicExists(topic)).toBe(true);
    expect((await topicStats(topic))!.message_count).toBe(0);
  });

  it("defers a message by `defer` ms (0 to max_req_timeout, a leading + allowed)", async () => {
    const topic = unique("defer");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=ch`));
    await expectOkText(post(`/pub?topic=${topic}&defer=3600000`, "max"));
    await expectOkText(post(`/pub?topic=${topic}&defer=%2B60000`, "plus"));
    await expectOkText(post(`/pub?topic=${topic}&defer=0`, "now"));
    await expectOkText(post(`/pub?topic=${topic}&defer=-0`, "minus zero"));
    const c = await consumer(topic, "ch", 10);
    expect((await c.messages(2)).map(text)).toEqual(["now", "minus zero"]);
    expect(await c.maybeNext(200)).toBeNull();
    const ch = (await topicStats(topic))!.channels[0];
    expect(ch).toMatchObject({ deferred_count: 2, in_flight_count: 2, depth: 0, message_count: 4 });
  });

  it("refuses a bad query string with 400 INVALID_REQUEST", async () => {
    await expectError(post(`/pub?topic=${unique()};x=1`, "x"), 400, "INVALID_REQUEST");
    await expectError(post(`/pub?topic=%zz`, "x"), 400, "INVALID_REQUEST");
  });

  it("uses the first of repeated parameters", async () => {
    const topic = unique("rep");
    await expectOkText(post(`/pub?topic=${topic}&topic=a/b`, "x"));
    expect(await drain(topic, 1)).toEqual(["x"]);
  });
});

describe("POST /mpub", () => {
  const mpub = (topic: string, body: BodyInit, q = "") => post(`/mpub?topic=${topic}${q}`, body);

  it("splits on \\n: a trailing newline and blank lines are skipped, \\r is kept", async () => {
    const topic = unique("mpub");
    await expectOkText(mpub(topic, "m1\nm2\n"));
    await expectOkText(mpub(topic, "\n\nm3\r\n\n\r\nm4"));
    await expectOkText(mpub(topic, "m\nm\nm\nm"));
    expect(await drain(topic, 9)).toEqual(["m1", "m2", "m3\r", "\r", "m4", "m", "m", "m", "m"]);
    expect((await topicStats(topic))!.message_count).toBe(9);
  });

  it("accepts an empty body or only newlines: OK, no message, the topic exists", async () => {
    const topic = unique("mpub");
    await expectOkText(mpub(topic, ""));
    await expectOkText(mpub(topic, "\n\n\n"));
    expect(await topicExists(topic)).toBe(true);
    expect((await topicStats(topic))!.message_count).toBe(0);
  });

  it("reads the binary format with binary=true, bodies with newlines intact", async () => {
    const topic = unique("bin");
    const bodies = ["one\ntwo", "\r\n", "three"].map((s) => enc.encode(s));
    await expectOkText(mpub(topic, cmd.encodeMpubBody(bodies), "&binary=true"));
    expect(await drain(topic, 3)).toEqual(["one\ntwo", "\r\n", "three"]);
  });

  for (const q of ["&binary=1", "&binary=yes", "&binary=", "&binary", "&binary=TRUE", "&binary=False"]) {
    it(`treats ${q} as binary (any value but false/0)`, async () => {
      const topic = unique("bin");
      await expectOkText(mpub(topic, cmd.encodeMpubBody([enc.encode("a\nb")]), q));
      expect(await drain(topic, 1)).toEqual(["a\nb"]);
    });
  }

  for (const q of ["&binary=false", "&binary=0", ""]) {
    it(`treats ${JSON.stringify(q)} as newline text`, async () => {
      const topic = unique("txt");
      await expectOkText(mpub(topic, "a\nb", q));
      expect(await drain(topic, 2)).toEqual(["a", "b"]);
    });
  }

  const size = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, n);
    return b;
  };
  for (const [what, body, message] of [
    ["an empty body", new Uint8Array(0), "BAD_BODY"],
    ["a short count", new Uint8Array([0, 0, 1]), "BAD_BODY"],
    ["a count of 0", size(0), "BAD_BODY"],
    ["a negative count", new Uint8Array([255, 255, 255, 255]), "BAD_BODY"],
    ["a count over (max_body_size - 4) / 5", size(1048576), "BAD_BODY"],
    ["a missing size", size(1), "BAD_MESSAGE"],
    ["a size of 0", cmd.concatAll([size(1), size(0)]), "BAD_MESSAGE"],
    ["a short body", cmd.concatAll([size(1), size(5), enc.encode("ab")]), "BAD_MESSAGE"],
    ["a message over max_msg_size", cmd.concatAll([size(1), size(MAX_MSG + 1), new Uint8Array(MAX_MSG + 1)]), "BAD_MESSAGE"],
  ] as const) {
    it(`binary with ${what}: 413 ${message}`, async () => {
      await expectError(mpub(unique("bad"), body, "&binary=true"), 413, message);
    });
  }

  it("creates the topic even when the binary body is bad, as nsqd does", async () => {
    const topic = unique("bad");
    await expectError(mpub(topic, size(0), "&binary=true"), 413, "BAD_BODY");
    expect(await topicExists(topic)).toBe(true);
    expect((await topicStats(topic))!.message_count).toBe(0);
  });

  it("text: a line over max_msg_size is 413 MSG_TOO_BIG; one of exactly max_msg_size is fine", async () => {
    const topic = unique("txt");
    const line = "x".repeat(MAX_MSG);
    await expectError(mpub(topic, `a\n${line}x\nb`), 413, "MSG_TOO_BIG");
    await expectOkText(mpub(topic, `a\n${line}\nb`));
    expect((await topicStats(topic))!.message_count).toBe(3);
  });

  it("refuses a body over max_body_size with 413 BODY_TOO_BIG (text and binary)", async () => {
    const big = new Uint8Array(MAX_BODY + 1).fill(10);
    await expectError(mpub(unique("huge"), big), 413, "BODY_TOO_BIG");
    await expectError(mpub(unique("huge"), big, "&binary=true"), 413, "BODY_TOO_BIG");
    // Checked before the topic.
    await expectError(post("/mpub?topic=a/b", big), 413, "BODY_TOO_BIG");
  });

  it("needs a valid topic", async () => {
    await expectError(post("/mpub", "a\nb"), 400, "MISSING_ARG_TOPIC");
    await expectError(post("/mpub?topic=a/b", "a\nb"), 400, "INVALID_TOPIC");
    await expectError(post(`/mpub?topic=${"a".repeat(65)}`, "a\nb"), 400, "INVALID_TOPIC");
  });
});

describe("POST /topic/*", () => {
  it("create: 200 with an empty body, idempotent; the topic is then known", async () => {
    const topic = unique("tc");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    expect(await topicExists(topic)).toBe(true);
    expect(await topicStats(topic)).toMatchObject({ topic_name: topic, channels: [], depth: 0, message_count: 0, paused: false });
  });

  it("create: MISSING_ARG_TOPIC and INVALID_TOPIC", async () => {
    await expectError(post("/topic/create"), 400, "MISSING_ARG_TOPIC");
    await expectError(post("/topic/create?topic=a/b"), 400, "INVALID_TOPIC");
    await expectError(post(`/topic/create?topic=${"t".repeat(65)}`), 400, "INVALID_TOPIC");
  });

  for (const action of ["delete", "empty", "pause", "unpause"]) {
    it(`${action}: 404 TOPIC_NOT_FOUND for an unknown topic, 400 MISSING_ARG_TOPIC without one`, async () => {
      await expectError(post(`/topic/${action}?topic=${unique("none")}`), 404, "TOPIC_NOT_FOUND");
      await expectError(post(`/topic/${action}`), 400, "MISSING_ARG_TOPIC");
    });
  }

  it("delete, pause and unpause do not validate the name (404); empty does (400 INVALID_TOPIC)", async () => {
    for (const action of ["delete", "pause", "unpause"]) {
      await expectError(post(`/topic/${action}?topic=a/b`), 404, "TOPIC_NOT_FOUND");
    }
    await expectError(post("/topic/empty?topic=a/b"), 400, "INVALID_TOPIC");
  });

  it("pause and unpause set the paused flag; delete removes the topic and its channels", async () => {
    const topic = unique("tp");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=ch`));
    await expectEmptyOk(post(`/topic/pause?topic=${topic}`));
    await expectEmptyOk(post(`/topic/pause?topic=${topic}`));
    expect((await topicStats(topic))!.paused).toBe(true);
    await expectEmptyOk(post(`/topic/unpause?topic=${topic}`));
    expect((await topicStats(topic))!.paused).toBe(false);
    await expectEmptyOk(post(`/topic/delete?topic=${topic}`));
    expect(await topicExists(topic)).toBe(false);
    expect(await topicStats(topic)).toBeNull();
    await expectError(post(`/topic/delete?topic=${topic}`), 404, "TOPIC_NOT_FOUND");
    await expectError(post(`/channel/delete?topic=${topic}&channel=ch`), 404, "TOPIC_NOT_FOUND");
  });

  it("empty drops what the topic holds, not what its channels hold", async () => {
    const held = unique("te");
    await expectOkText(post(`/mpub?topic=${held}`, "a\nb"));
    // No channel: the topic keeps the messages.
    expect((await topicStats(held))!.depth).toBe(2);
    await expectEmptyOk(post(`/topic/empty?topic=${held}`));
    expect((await topicStats(held))!.depth).toBe(0);

    const fanned = unique("te");
    await expectEmptyOk(post(`/topic/create?topic=${fanned}`));
    await expectEmptyOk(post(`/channel/create?topic=${fanned}&channel=ch`));
    await expectOkText(post(`/mpub?topic=${fanned}`, "a\nb"));
    await expectEmptyOk(post(`/topic/empty?topic=${fanned}`));
    expect((await topicStats(fanned))!.channels[0].depth).toBe(2);
  });
});

describe("POST /channel/*", () => {
  const actions = ["create", "delete", "empty", "pause", "unpause"];

  for (const action of actions) {
    it(`${action}: argument errors in nsqd's order, then TOPIC_NOT_FOUND`, async () => {
      const p = (q: string) => post(`/channel/${action}${q}`);
      await expectError(p(""), 400, "MISSING_ARG_TOPIC");
      await expectError(p("?channel=ch"), 400, "MISSING_ARG_TOPIC");
      await expectError(p("?topic=a/b"), 400, "INVALID_ARG_TOPIC");
      await expectError(p("?topic=a/b&channel=ch"), 400, "INVALID_ARG_TOPIC");
      await expectError(p(`?topic=${unique()}`), 400, "MISSING_ARG_CHANNEL");
      // The channel name is checked before the topic's existence.
      await expectError(p(`?topic=${unique()}&channel=a/b`), 400, "INVALID_ARG_CHANNEL");
      await expectError(p(`?topic=${unique()}&channel=${"c".repeat(65)}`), 400, "INVALID_ARG_CHANNEL");
      await expectError(p(`?topic=${unique()}&channel=`), 400, "INVALID_ARG_CHANNEL");
      await expectError(p(`?topic=${unique()}&channel=ch`), 404, "TOPIC_NOT_FOUND");
    });
  }

  it("create does not create the topic", async () => {
    const topic = unique("cc");
    await expectError(post(`/channel/create?topic=${topic}&channel=ch`), 404, "TOPIC_NOT_FOUND");
    expect(await topicExists(topic)).toBe(false);
    expect(await topicStats(topic)).toBeNull();
  });

  for (const action of ["delete", "empty", "pause", "unpause"]) {
    it(`${action}: 404 CHANNEL_NOT_FOUND for an unknown channel of a known topic`, async () => {
      const topic = unique("cn");
      await expectEmptyOk(post(`/topic/create?topic=${topic}`));
      await expectError(post(`/channel/${action}?topic=${topic}&channel=nope`), 404, "CHANNEL_NOT_FOUND");
    });
  }

  it("create, pause, unpause, empty and delete a channel", async () => {
    const topic = unique("cl");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=ch`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=ch`));
    expect((await (await http(`/channels?topic=${topic}`)).json<any>()).channels).toEqual(["ch"]);

    await expectEmptyOk(post(`/channel/pause?topic=${topic}&channel=ch`));
    expect((await topicStats(topic))!.channels[0].paused).toBe(true);
    await expectEmptyOk(post(`/channel/unpause?topic=${topic}&channel=ch`));
    expect((await topicStats(topic))!.channels[0].paused).toBe(false);

    await expectOkText(post(`/mpub?topic=${topic}`, "a\nb\nc"));
    expect((await topicStats(topic))!.channels[0].depth).toBe(3);
    await expectEmptyOk(post(`/channel/empty?topic=${topic}&channel=ch`));
    expect((await topicStats(topic))!.channels[0].depth).toBe(0);

    await expectEmptyOk(post(`/channel/delete?topic=${topic}&channel=ch`));
    expect((await topicStats(topic))!.channels).toEqual([]);
    expect((await (await http(`/channels?topic=${topic}`)).json<any>()).channels).toEqual([]);
    await expectError(post(`/channel/delete?topic=${topic}&channel=ch`), 404, "CHANNEL_NOT_FOUND");
  });
});

describe("GET /stats", () => {
  /** A topic with two channels: "a" has a consumer with one message in flight and one deferred. */
  async function scene() {
    const topic = unique("st");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=a`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=b`));
    await expectOkText(post(`/mpub?topic=${topic}`, "m1\nm2\nm3"));
    const c = await consumer(topic, "a", 1);
    const first = await c.message();
    c.send(cmd.req(first.id, 60_000));
    // The next message arrives only once the REQ freed the RDY slot.
    await c.message();
    return { topic, c };
  }

  it("has nsqd's JSON schema and key names, with the counters of a live channel", async () => {
    const { topic } = await scene();
    const r = await http(`/stats?format=json&topic=${topic}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
    const s = await r.json<StatsDoc>();
    expect(Object.keys(s)).toEqual(["version", "health", "start_time", "topics", "memory", "producers"]);
    expect(s).toMatchObject({ version: "1.3.0", health: "OK" });
    expect(Object.keys(s.memory!)).toEqual([
      "heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "heap_released_bytes", "gc_pause_usec_100",
      "gc_pause_usec_99", "gc_pause_usec_95", "next_gc_bytes", "gc_total_runs",
    ]);
    expect(s.topics).toHaveLength(1);
    const t = s.topics![0];
    expect(Object.keys(t).filter((k) => !EXTRA_TOPIC_KEYS.includes(k))).toEqual([
      "topic_name", "channels", "depth", "backend_depth", "message_count", "message_bytes", "paused",
      "e2e_processing_latency",
    ]);
    expect(t).toMatchObject({ topic_name: topic, depth: 0, backend_depth: 0, message_count: 3, message_bytes: 6, paused: false });
    expect(t.e2e_processing_latency).toEqual({ count: 0, percentiles: null });
    expect(t.channels.map((ch) => ch.channel_name)).toEqual(["a", "b"]);
    const [a, b] = t.channels;
    for (const ch of [a, b]) {
      expect(Object.keys(ch).filter((k) => !EXTRA_CHANNEL_KEYS.includes(k))).toEqual([
        "channel_name", "depth", "backend_depth", "in_flight_count", "deferred_count", "message_count",
        "requeue_count", "timeout_count", "client_count", "clients", "paused", "e2e_processing_latency",
      ]);
      expect(ch.e2e_processing_latency).toEqual({ count: 0, percentiles: null });
    }
    expect(a).toMatchObject({
      depth: 1, in_flight_count: 1, deferred_count: 1, message_count: 3, requeue_count: 1, timeout_count: 0,
      client_count: 1, paused: false,
    });
    expect(b).toMatchObject({
      depth: 3, in_flight_count: 0, deferred_count: 0, message_count: 3, requeue_count: 0, timeout_count: 0,
      client_count: 0, clients: [], paused: false,
    });
    expect(a.clients).toHaveLength(1);
    const client = a.clients![0];
    expect(Object.keys(client)).toEqual([
      "client_id", "hostname", "version", "remote_address", "state", "ready_count", "in_flight_count",
      "message_count", "finish_count", "requeue_count", "connect_ts", "sample_rate", "deflate", "snappy",
      "user_agent", "topology_zone", "topology_region", "tls", "tls_cipher_suite", "tls_version",
      "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual",
    ]);
    expect(client).toMatchObject({
      version: "V2", state: 3, ready_count: 1, in_flight_count: 1, message_count: 2, finish_count: 0,
      requeue_count: 1, sample_rate: 0, deflate: false, snappy: false, tls: false,
    });
    expect(Math.abs(client.connect_ts - Date.now() / 1000)).toBeLessThan(60);
  });

  it("filters by topic and channel; an unknown topic gives topics null", async () => {
    const { topic } = await scene();
    const other = unique("st-other");
    await expectEmptyOk(post(`/topic/create?topic=${other}`));
    await expectEmptyOk(post(`/channel/create?topic=${other}&channel=b`));

    const all = await statsJson();
    const names = all.topics!.map((t) => t.topic_name);
    expect(names).toEqual(expect.arrayContaining([topic, other]));
    expect([...names].sort()).toEqual(names); // sorted by name

    const byChannel = await statsJson(`&topic=${topic}&channel=b`);
    expect(byChannel.topics!.map((t) => [t.topic_name, t.channels.map((c) => c.channel_name)])).toEqual([[topic, ["b"]]]);

    // A channel filter alone leaves out topics without that channel.
    const onlyA = await statsJson(`&channel=a`);
    const withA = onlyA.topics!.map((t) => t.topic_name);
    expect(withA).toContain(topic);
    expect(withA).not.toContain(other);
    for (const t of onlyA.topics!) expect(t.channels.map((c) => c.channel_name)).toEqual(["a"]);

    const none = await statsJson(`&topic=${unique("missing")}`);
    expect(none.topics).toBeNull();
    // An empty filter is no filter.
    expect((await statsJson("&topic=&channel=")).topics!.length).toBe(all.topics!.length);
  });

  it("include_clients=false gives clients null but keeps client_count; include_mem=false drops memory", async () => {
    const { topic } = await scene();
    const s = await statsJson(`&topic=${topic}&include_clients=false&include_mem=false`);
    expect(Object.keys(s)).toEqual(["version", "health", "start_time", "topics", "producers"]);
    expect(s.producers).toBeNull();
    const [a, b] = s.topics![0].channels;
    expect([a.clients, b.clients]).toEqual([null, null]);
    expect([a.client_count, b.client_count]).toEqual([1, 0]);
    // "0" means false too; any other value means true.
    expect((await statsJson(`&topic=${topic}&include_clients=0`)).topics![0].channels[0].clients).toBeNull();
    expect((await statsJson(`&topic=${topic}&include_clients=no`)).topics![0].channels[0].clients).toHaveLength(1);
  });

  it("format text (the default for anything but json) has the topic and channel lines", async () => {
    const { topic } = await scene();
    for (const q of [`?topic=${topic}`, `?format=text&topic=${topic}`, `?format=JSON&topic=${topic}`]) {
      const r = await http(`/stats${q}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
      const body = await r.text();
      expect(body).toMatch(/^nsqd v1\.3\.0 /);
      expect(body).toContain("\nHealth: OK\n");
      expect(body).toContain("\nMemory:\n   heap_objects             \t0\n");
      const lines = body.split("\n");
      const pad = (v: string | number, n: number) => String(v).padEnd(n, " ");
      expect(lines).toContain(
        `   [${pad(topic, 15)}] depth: ${pad(0, 5)} be-depth: ${pad(0, 5)} msgs: ${pad(3, 8)} e2e%: `,
      );
      const chA = lines.find((l) => l.startsWith(`      [${pad("a", 25)}]`));
      expect(chA).toBe(
        `      [${pad("a", 25)}] depth: ${pad(1, 5)} be-depth: ${chA!.match(/be-depth: (\d+)/)![1].padEnd(5)} ` +
          `inflt: ${pad(1, 4)} def: ${pad(1, 4)} re-q: ${pad(1, 5)} timeout: ${pad(0, 5)} msgs: ${pad(3, 8)} e2e%: `,
      );
      expect(lines.some((l) => /^        \[V2 .{21}\] state: 3 inflt: 1    rdy: 1    fin: 0        re-q: 1        msgs: 2        connected: \d+s$/.test(l))).toBe(true);
      expect(body.endsWith("\nProducers: None\n")).toBe(true);
    }
    await expectEmptyOk(post(`/topic/pause?topic=${topic}`));
    await expectEmptyOk(post(`/channel/pause?topic=${topic}&channel=b`));
    const paused = await (await http(`/stats?topic=${topic}&include_mem=false`)).text();
    expect(paused).not.toContain("Memory:");
    expect(paused).toContain(`\n*P [${topic.padEnd(15)}] depth: `);
    expect(paused).toContain(`\n   *P [${"b".padEnd(25)}] depth: `);
    expect((await (await http(`/stats?topic=${unique("none")}`)).text())).toContain("\nTopics: None\n");
  });
});

describe("nsqlookupd read API", () => {
  it("/lookup: 400 MISSING_ARG_TOPIC, 404 TOPIC_NOT_FOUND", async () => {
    await expectError(http("/lookup"), 400, "MISSING_ARG_TOPIC");
    await expectError(http(`/lookup?topic=${unique("none")}`), 404, "TOPIC_NOT_FOUND");
  });

  it("/lookup: channels and this node as the producer", async () => {
    const topic = unique("lk");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    let r = await http(`/lookup?topic=${topic}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.headers.get("x-nsq-content-type")).toBe(NSQ_HEADER);
    expect((await r.json<any>()).channels).toEqual([]);
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=zz`));
    await expectEmptyOk(post(`/channel/create?topic=${topic}&channel=aa`));
    r = await http(`/lookup?topic=${topic}`);
    const body = await r.json<any>();
    expect(Object.keys(body)).toEqual(["channels", "producers"]);
    expect([...body.channels].sort()).toEqual(["aa", "zz"]);
    expect(body.producers).toHaveLength(1);
    const p = body.producers[0];
    expect(Object.keys(p)).toEqual([
      "remote_address", "hostname", "broadcast_address", "tcp_port", "http_port", "version", "topology_zone", "topology_region",
    ]);
    expect(p).toEqual({
      remote_address: "nsq.test:80", hostname: "nsq.test", broadcast_address: "nsq.test", tcp_port: 80, http_port: 80,
      version: "1.3.0", topology_zone: "", topology_region: "",
    });
  });

  it("/topics lists topics however created (/topic/create, /pub, /mpub, PUB, SUB); /channels lists a topic's channels", async () => {
    const [a, b, c, d, e] = [unique("tl"), unique("tl"), unique("tl"), unique("tl"), unique("tl")];
    await expectEmptyOk(post(`/topic/create?topic=${a}`));
    await expectOkText(post(`/pub?topic=${b}`, "x"));
    const sub = await consumer(c, "ch", 0);
    await expectOkText(post(`/mpub?topic=${d}`, "x\ny"));
    const p = await connect();
    clients.push(p);
    p.send(cmd.MAGIC_V2, cmd.pub(e, "x"));
    expect(await p.response()).toBe("OK");
    const topics = (await (await http("/topics")).json<any>()).topics;
    expect(topics).toEqual(expect.arrayContaining([a, b, c, d, e]));
    expect((await (await http(`/channels?topic=${c}`)).json<any>())).toEqual({ channels: ["ch"] });
    expect((await (await http(`/channels?topic=${a}`)).json<any>())).toEqual({ channels: [] });
    // Unknown topics are not an error, and the name is not validated.
    expect((await (await http(`/channels?topic=${unique("none")}`)).json<any>())).toEqual({ channels: [] });
    expect((await (await http(`/channels?topic=a/b`)).json<any>())).toEqual({ channels: [] });
    await expectError(http("/channels"), 400, "MISSING_ARG_TOPIC");
    sub.close();
  });

  it("/nodes: this node with its topics and a tombstone flag per topic", async () => {
    const topic = unique("nd");
    await expectEmptyOk(post(`/topic/create?topic=${topic}`));
    const body = await (await http("/nodes")).json<any>();
    expect(Object.keys(body)).toEqual(["producers"]);
    expect(body.producers).toHaveLength(1);
    const p = body.producers[0];
    expect(Object.keys(p)).toEqual([
      "remote_address", "hostname", "broadcast_address", "tcp_port", "http_port", "version", "topology_zone",
      "topology_region", "tombstones", "topics",
    ]);
    expect(p.topics).toContain(topic);
    expect(p.tombstones).toEqual(p.topics.map(() => false));
  });
});

describe("routing", () => {
  it("answers an unknown path with 404 NOT_FOUND JSON", async () => {
    await expectError(http("/not_found"), 404, "NOT_FOUND");
    await expectError(post("/topic/nope?topic=x"), 404, "NOT_FOUND");
    await expectError(http("/"), 404, "NOT_FOUND");
  });

  for (const [method, path, allow] of [
    ["GET", "/pub", "OPTIONS, POST"],
    ["GET", "/mpub", "OPTIONS, POST"],
    ["PUT", "/pub", "OPTIONS, POST"],
    ["POST", "/stats", "GET, OPTIONS"],
    ["POST", "/ping", "GET, OPTIONS"],
    ["DELETE", "/info", "GET, OPTIONS"],
    ["GET", "/topic/create", "OPTIONS, POST"],
    ["GET", "/channel/delete", "OPTIONS, POST"],
    ["POST", "/lookup", "GET, OPTIONS"],
    ["POST", "/topics", "GET, OPTIONS"],
  ]) {
    it(`answers ${method} ${path} with 405 METHOD_NOT_ALLOWED and Allow: ${allow}`, async () => {
      const r = await http(`${path}?topic=x`, { method });
      expect(r.headers.get("allow")).toBe(allow);
      await expectError(r, 405, "METHOD_NOT_ALLOWED");
    });
  }

  it("answers OPTIONS on a known path with 200 and Allow", async () => {
    const r = await http("/stats", { method: "OPTIONS" });
    expect(r.status).toBe(200);
    expect(r.headers.get("allow")).toBe("GET, OPTIONS");
    expect(await r.text()).toBe("");
    await expectError(http("/nope", { method: "OPTIONS" }), 404, "NOT_FOUND");
  });

  it("does not answer HEAD as GET (405 with Allow, as nsqd's router)", async () => {
    const r = await http("/ping", { method: "HEAD" });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, OPTIONS");
    const s = await http("/stats", { method: "HEAD" });
    expect(s.status).toBe(405);
    const p = await http("/pub", { method: "HEAD" });
    expect(p.status).toBe(405);
    expect(p.headers.get("allow")).toBe("OPTIONS, POST");
  });
});

describe("CORS", () => {
  it("lets a page on another origin read the API and preflight a POST", async () => {
    const origin = { Origin: "https://app.example" };
    const lookup = await http("/lookup?topic=nope", { headers: origin });
    expect(lookup.status).toBe(404);
    expect(lookup.headers.get("access-control-allow-origin")).toBe("*");
    const pre = await http("/pub?topic=x", {
      method: "OPTIONS",
      headers: { ...origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    const plain = await http("/stats");
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("/stats filters", () => {
  it("an existing topic with an unknown channel filter gives topics [] (null only for an unknown topic)", async () => {
    const topic = unique("filt");
    await post(`/topic/create?topic=${topic}`);
    expect((await statsJson(`&topic=${topic}&channel=nope`)).topics).toEqual([]);
    expect((await statsJson(`&topic=${unique("none")}`)).topics).toBeNull();
  });
});
