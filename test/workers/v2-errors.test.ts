// Bad input on the V2 protocol (a WebSocket at /ws): every error frame is nsqd's exact text
// (protocol_v2.go), fatal errors close the connection after the frame, the others
// (E_FIN_FAILED, E_REQ_FAILED, E_TOUCH_FAILED) leave it open, and no error loses a message
// that was acknowledged before it.
import { afterEach, describe, expect, it } from "vitest";
import { cmd, text, type TestClient } from "../helpers/v2client";
import { connect, post, statsJson, unique } from "../helpers/workers";
import type { MessageFrame } from "../../src/protocol/frames";

const enc = new TextEncoder();
const raw = (s: string) => enc.encode(s);
/** A body size as the wire carries it: 4 bytes, big-endian, signed. */
function size(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n);
  return out;
}
const withBody = (line: string, body: Uint8Array) => cmd.concatAll([raw(line + "\n"), size(body.length), body]);
const UNKNOWN_ID = "0000000000000000";

const clients: TestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) if (!c.closed) c.close();
});

/** A connection that has sent the magic. */
async function open(): Promise<TestClient> {
  const c = await connect();
  clients.push(c);
  c.send(cmd.MAGIC_V2);
  return c;
}

/** A subscribed consumer (IDENTIFY with feature negotiation, SUB, RDY when rdy > 0). */
async function consumer(topic: string, channel = "ch", rdy = 0): Promise<TestClient> {
  const c = await connect();
  clients.push(c);
  await c.subscribe(topic, channel, rdy);
  return c;
}

/** The next frame is exactly this error, and then the server closes the connection. */
async function expectFatal(c: TestClient, message: string) {
  expect(await c.error()).toBe(message);
  await c.closedByServer();
}

/** Nothing arrives for a while and the connection is still open. */
async function expectOpenAndQuiet(c: TestClient, ms = 150) {
  expect(await c.maybeNext(ms)).toBeNull();
  expect(c.closed).toBe(false);
}

/** Subscribes a fresh consumer, takes exactly `n` messages (FIN each) and checks nothing else comes. */
async function drain(topic: string, n: number): Promise<string[]> {
  const c = await consumer(topic, unique("drain"), Math.max(n, 1));
  const got: MessageFrame[] = await c.messages(n);
  for (const m of got) c.send(cmd.fin(m.id));
  expect(await c.maybeNext(200)).toBeNull();
  c.close();
  return got.map(text);
}

describe("before any command", () => {
  for (const magic of ["  V1", "V2  ", "GET ", "XXXX"]) {
    it(`answers a bad magic ${JSON.stringify(magic)} with E_BAD_PROTOCOL and closes`, async () => {
      const c = await connect();
      clients.push(c);
      c.send(raw(magic), cmd.nop());
      await expectFatal(c, "E_BAD_PROTOCOL");
    });
  }

  it("accepts the magic and commands split across WebSocket messages anywhere", async () => {
    const topic = unique("split");
    const c = await connect();
    clients.push(c);
    const stream = cmd.concatAll([cmd.MAGIC_V2, cmd.pub(topic, "one"), cmd.identify({ feature_negotiation: false }), cmd.nop()]);
    for (const b of stream) c.send(new Uint8Array([b]));
    expect(await c.response()).toBe("OK");
    expect(await c.response()).toBe("OK");
    await expectOpenAndQuiet(c);
    expect(await drain(topic, 1)).toEqual(["one"]);
  });
});

describe("fatal errors: the frame, then the connection closes", () => {
  const t = () => unique("err");
  const cases: [string, () => Uint8Array, string][] = [
    ["an unknown command", () => raw("FOO bar\n"), "E_INVALID invalid command FOO"],
    ["a lower-case command", () => raw("nop\n"), "E_INVALID invalid command nop"],
    ["an empty line", () => raw("\n"), "E_INVALID invalid command "],
    ["PUB to a bad topic", () => cmd.pub("a/b", "x"), 'E_BAD_TOPIC PUB topic name "a/b" is not valid'],
    ["PUB to a 65-character topic", () => cmd.pub("a".repeat(65), "x"), `E_BAD_TOPIC PUB topic name "${"a".repeat(65)}" is not valid`],
    ["PUB to an empty topic name", () => withBody("PUB ", raw("x")), 'E_BAD_TOPIC PUB topic name "" is not valid'],
    ["PUB without a topic", () => withBody("PUB", raw("x")), "E_INVALID PUB insufficient number of parameters"],
    ["PUB of body size 0", () => cmd.concatAll([raw(`PUB ${t()}\n`), size(0)]), "E_BAD_MESSAGE PUB invalid message body size 0"],
    ["PUB of body size -1", () => cmd.concatAll([raw(`PUB ${t()}\n`), size(-1)]), "E_BAD_MESSAGE PUB invalid message body size -1"],
    [
      "PUB of a body over max_msg_size",
      () => cmd.concatAll([raw(`PUB ${t()}\n`), size(1048577)]),
      "E_BAD_MESSAGE PUB message too big 1048577 > 1048576",
    ],
    ["MPUB to a bad topic (nsqd repeats the code)", () => cmd.mpub("a/b", ["x"]), 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a/b" is not valid'],
    ["MPUB without a topic", () => withBody("MPUB", cmd.encodeMpubBody([raw("x")])), "E_INVALID MPUB insufficient number of parameters"],
    ["MPUB of body size 0", () => cmd.concatAll([raw(`MPUB ${t()}\n`), size(0)]), "E_BAD_BODY MPUB invalid body size 0"],
    [
      "MPUB of a body over max_body_size",
      () => cmd.concatAll([raw(`MPUB ${t()}\n`), size(5242881)]),
      "E_BAD_BODY MPUB body too big 5242881 > 5242880",
    ],
    ["MPUB with a short body", () => withBody(`MPUB ${t()}`, raw("ab")), "E_BAD_BODY MPUB failed to read message count"],
    ["MPUB of 0 messages", () => withBody(`MPUB ${t()}`, size(0)), "E_BAD_BODY MPUB invalid message count 0"],
    ["MPUB of a negative count", () => withBody(`MPUB ${t()}`, size(-3)), "E_BAD_BODY MPUB invalid message count -3"],
    [
      "MPUB of a count above (max_body_size - 4) / 5",
      () => withBody(`MPUB ${t()}`, size(1048576)),
      "E_BAD_BODY MPUB invalid message count 1048576",
    ],
    [
      "MPUB with a message of size 0",
      () => withBody(`MPUB ${t()}`, cmd.concatAll([size(2), size(1), raw("a"), size(0)])),
      "E_BAD_MESSAGE MPUB invalid message(1) body size 0",
    ],
    [
      "MPUB with a message cut short",
      () => withBody(`MPUB ${t()}`, cmd.concatAll([size(1), size(10), raw("abc")])),
      "E_BAD_MESSAGE MPUB failed to read message body",
    ],
    [
      "MPUB with a message over max_msg_size",
      () => withBody(`MPUB ${t()}`, cmd.concatAll([size(1), size(1048577), new Uint8Array(1048577)])),
      "E_BAD_MESSAGE MPUB message too big 1048577 > 1048576",
    ],
    ["DPUB to a bad topic", () => cmd.dpub("a/b", 10, "x"), 'E_BAD_TOPIC DPUB topic name "a/b" is not valid'],
    ["DPUB without a timeout", () => withBody(`DPUB ${t()}`, raw("x")), "E_INVALID DPUB insufficient number of parameters"],
    ["DPUB with a timeout over max_req_timeout", () => cmd.dpub(t(), 3600001, "x"), "E_INVALID DPUB timeout 3600001 out of range 0-3600000"],
    ["DPUB with an unparsable timeout", () => withBody(`DPUB ${t()} abc`, raw("x")), "E_INVALID DPUB could not parse timeout abc"],
    ["DPUB with a negative timeout", () => withBody(`DPUB ${t()} -1`, raw("x")), "E_INVALID DPUB could not parse timeout -1"],
    ["DPUB of body size 0", () => cmd.concatAll([raw(`DPUB ${t()} 10\n`), size(0)]), "E_BAD_MESSAGE DPUB invalid message body size 0"],
    [
      "DPUB of a body over max_msg_size",
      () => cmd.concatAll([raw(`DPUB ${t()} 10\n`), size(1048577)]),
      "E_BAD_MESSAGE DPUB message too big 1048577 > 1048576",
    ],
    ["IDENTIFY with bad JSON", () => withBody("IDENTIFY", raw("{not json")), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
    ["IDENTIFY with a JSON array", () => withBody("IDENTIFY", raw("[]")), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
    ["IDENTIFY with a JSON string", () => withBody("IDENTIFY", raw('"x"')), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
    [
      "IDENTIFY with a field of the wrong type",
      () => cmd.identify({ heartbeat_interval: "5000" }),
      "E_BAD_BODY IDENTIFY failed to decode JSON body",
    ],
    ["IDENTIFY with a fractional number", () => cmd.identify({ msg_timeout: 1500.5 }), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
    ["IDENTIFY of body size 0", () => cmd.concatAll([raw("IDENTIFY\n"), size(0)]), "E_BAD_BODY IDENTIFY invalid body size 0"],
    [
      "IDENTIFY of a body over max_body_size",
      () => cmd.concatAll([raw("IDENTIFY\n"), size(5242881)]),
      "E_BAD_BODY IDENTIFY body too big 5242881 > 5242880",
    ],
    ["heartbeat_interval 999", () => cmd.identify({ heartbeat_interval: 999 }), "E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid"],
    ["heartbeat_interval -2", () => cmd.identify({ heartbeat_interval: -2 }), "E_BAD_BODY IDENTIFY heartbeat interval (-2) is invalid"],
    [
      "heartbeat_interval over 60s",
      () => cmd.identify({ heartbeat_interval: 60001 }),
      "E_BAD_BODY IDENTIFY heartbeat interval (60001) is invalid",
    ],
    ["msg_timeout 999", () => cmd.identify({ msg_timeout: 999 }), "E_BAD_BODY IDENTIFY msg timeout (999) is invalid"],
    ["msg_timeout over 15m", () => cmd.identify({ msg_timeout: 900001 }), "E_BAD_BODY IDENTIFY msg timeout (900001) is invalid"],
    ["sample_rate 100", () => cmd.identify({ sample_rate: 100 }), "E_BAD_BODY IDENTIFY sample rate (100) is invalid"],
    ["sample_rate -1", () => cmd.identify({ sample_rate: -1 }), "E_BAD_BODY IDENTIFY sample rate (-1) is invalid"],
    ["output_buffer_size 63", () => cmd.identify({ output_buffer_size: 63 }), "E_BAD_BODY IDENTIFY output buffer size (63) is invalid"],
    [
      "output_buffer_size over 64 KiB",
      () => cmd.identify({ output_buffer_size: 65537 }),
      "E_BAD_BODY IDENTIFY output buffer size (65537) is invalid",
    ],
    [
      "output_buffer_timeout 24",
      () => cmd.identify({ output_buffer_timeout: 24 }),
      "E_BAD_BODY IDENTIFY output buffer timeout (24) is invalid",
    ],
    [
      "several bad fields: nsqd checks heartbeat, buffer, sample rate, msg timeout in that order",
      () => cmd.identify({ msg_timeout: 1, sample_rate: 200, output_buffer_size: 1, heartbeat_interval: 1 }),
      "E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid",
    ],
    [
      "bad buffer size, sample rate and msg timeout",
      () => cmd.identify({ msg_timeout: 1, sample_rate: 200, output_buffer_size: 1 }),
      "E_BAD_BODY IDENTIFY output buffer size (1) is invalid",
    ],
    [
      "bad sample rate and msg timeout",
      () => cmd.identify({ msg_timeout: 1, sample_rate: 200 }),
      "E_BAD_BODY IDENTIFY sample rate (200) is invalid",
    ],
    // nsqd checks the verb's parameters before it reads the body size.
    [
      "PUB to a bad topic with body size 0",
      () => cmd.concatAll([raw("PUB a/b\n"), size(0)]),
      'E_BAD_TOPIC PUB topic name "a/b" is not valid',
    ],
    [
      "DPUB with a bad timeout and body size 0",
      () => cmd.concatAll([raw(`DPUB ${t()} x\n`), size(0)]),
      "E_INVALID DPUB could not parse timeout x",
    ],
    [
      "MPUB to a bad topic with a body over max_body_size",
      () => cmd.concatAll([raw("MPUB a/b\n"), size(5242881)]),
      'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a/b" is not valid',
    ],
    ["SUB with one parameter", () => raw(`SUB ${t()}\n`), "E_INVALID SUB insufficient number of parameters"],
    ["SUB with no parameter", () => raw("SUB\n"), "E_INVALID SUB insufficient number of parameters"],
    ["SUB to a bad topic", () => raw("SUB a/b ch\n"), 'E_BAD_TOPIC SUB topic name "a/b" is not valid'],
    ["SUB to a bad channel", () => raw(`SUB ${t()} a/b\n`), 'E_BAD_CHANNEL SUB channel name "a/b" is not valid'],
    [
      "SUB to a 65-character channel",
      () => raw(`SUB ${t()} ${"c".repeat(65)}\n`),
      `E_BAD_CHANNEL SUB channel name "${"c".repeat(65)}" is not valid`,
    ],
    ["RDY before SUB", () => cmd.rdy(1), "E_INVALID cannot RDY in current state"],
    ["FIN before SUB", () => cmd.fin(UNKNOWN_ID), "E_INVALID cannot FIN in current state"],
    ["REQ before SUB", () => cmd.req(UNKNOWN_ID, 0), "E_INVALID cannot REQ in current state"],
    ["TOUCH before SUB", () => cmd.touch(UNKNOWN_ID), "E_INVALID cannot TOUCH in current state"],
    ["CLS before SUB", () => cmd.cls(), "E_INVALID cannot CLS in current state"],
    ["AUTH (no auth server)", () => cmd.auth("secret"), "E_AUTH_DISABLED AUTH disabled"],
    ["AUTH with a parameter", () => withBody("AUTH x", raw("secret")), "E_INVALID AUTH invalid number of parameters"],
    ["AUTH of body size 0", () => cmd.concatAll([raw("AUTH\n"), size(0)]), "E_BAD_BODY AUTH invalid body size 0"],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what} → ${message}`, async () => {
      const c = await open();
      c.send(bytes(), cmd.nop());
      await expectFatal(c, message);
    });
  }

  it("SUB with heartbeats disabled → E_INVALID cannot SUB with heartbeats disabled", async () => {
    const c = await open();
    c.send(cmd.identify({ heartbeat_interval: -1 }));
    expect(await c.response()).toBe("OK");
    c.send(cmd.sub(unique(), "ch"));
    await expectFatal(c, "E_INVALID cannot SUB with heartbeats disabled");
  });

  describe("after SUB", () => {
    async function subscribed() {
      return consumer(unique("sub"));
    }
    const cases: [string, () => Uint8Array, string][] = [
      ["IDENTIFY", () => cmd.identify({}), "E_INVALID cannot IDENTIFY in current state"],
      [
        "IDENTIFY of body size 0",
        () => cmd.concatAll([raw("IDENTIFY\n"), size(0)]),
        "E_INVALID cannot IDENTIFY in current state",
      ],
      ["a second SUB", () => cmd.sub(unique(), "ch"), "E_INVALID cannot SUB in current state"],
      ["AUTH", () => cmd.auth("secret"), "E_INVALID cannot AUTH in current state"],
      ["RDY 2501", () => cmd.rdy(2501), "E_INVALID RDY count 2501 out of range 0-2500"],
      ["RDY abc", () => raw("RDY abc\n"), "E_INVALID RDY could not parse count abc"],
      ["RDY -1", () => raw("RDY -1\n"), "E_INVALID RDY could not parse count -1"],
      ["FIN of a 15-character id", () => cmd.fin("000000000000000"), "E_INVALID invalid message ID"],
      ["FIN of a 17-character id", () => cmd.fin("00000000000000000"), "E_INVALID invalid message ID"],
      ["FIN without an id", () => raw("FIN\n"), "E_INVALID FIN insufficient number of params"],
      ["REQ of a short id", () => cmd.req("abc", 0), "E_INVALID invalid message ID"],
      ["REQ without a timeout", () => raw(`REQ ${UNKNOWN_ID}\n`), "E_INVALID REQ insufficient number of params"],
      ["REQ with an unparsable timeout", () => raw(`REQ ${UNKNOWN_ID} 1s\n`), "E_INVALID REQ could not parse timeout 1s"],
      ["TOUCH of a long id", () => cmd.touch("0".repeat(32)), "E_INVALID invalid message ID"],
      ["TOUCH without an id", () => raw("TOUCH\n"), "E_INVALID TOUCH insufficient number of params"],
      ["an unknown command", () => raw("FOO\n"), "E_INVALID invalid command FOO"],
    ];
    for (const [what, bytes, message] of cases) {
      it(`${what} → ${message}`, async () => {
        const c = await subscribed();
        c.send(bytes(), cmd.nop());
        await expectFatal(c, message);
      });
    }
  });
});

describe("non-fatal errors keep the connection open", () => {
  /** After the error, the consumer still receives and FINs a message. */
  async function stillConsumes(c: TestClient, topic: string) {
    c.send(cmd.rdy(1));
    expect(await (await post(`/pub?topic=${topic}`, "after the error")).text()).toBe("OK");
    const m = await c.message();
    expect(text(m)).toBe("after the error");
    c.send(cmd.fin(m.id));
    await expectOpenAndQuiet(c);
  }

  for (const [verb, bytes, message] of [
    ["FIN", cmd.fin(UNKNOWN_ID), `E_FIN_FAILED FIN ${UNKNOWN_ID} failed ID not in flight`],
    ["REQ", cmd.req(UNKNOWN_ID, 0), `E_REQ_FAILED REQ ${UNKNOWN_ID} failed ID not in flight`],
    ["TOUCH", cmd.touch(UNKNOWN_ID), `E_TOUCH_FAILED TOUCH ${UNKNOWN_ID} failed ID not in flight`],
  ] as const) {
    it(`${verb} of an id not in flight → ${message}`, async () => {
      const topic = unique("nf");
      const c = await consumer(topic);
      c.send(bytes);
      expect(await c.error()).toBe(message);
      await expectOpenAndQuiet(c);
      await stillConsumes(c, topic);
    });
  }

  it("FIN/REQ/TOUCH of a message FINished already, and of a non-hex 16-byte id", async () => {
    const topic = unique("nf");
    const c = await consumer(topic, "ch", 1);
    await post(`/pub?topic=${topic}`, "x");
    const m = await c.message();
    // One WebSocket message: see "channel commands sent in separate WebSocket messages" below.
    c.send(cmd.fin(m.id), cmd.fin(m.id), cmd.req(m.id, 0), cmd.touch(m.id), cmd.fin("zzzzzzzzzzzzzzzz"));
    expect(await c.error()).toBe(`E_FIN_FAILED FIN ${m.id} failed ID not in flight`);
    expect(await c.error()).toBe(`E_REQ_FAILED REQ ${m.id} failed ID not in flight`);
    expect(await c.error()).toBe(`E_TOUCH_FAILED TOUCH ${m.id} failed ID not in flight`);
    expect(await c.error()).toBe("E_FIN_FAILED FIN zzzzzzzzzzzzzzzz failed ID not in flight");
    await stillConsumes(c, topic);
  });

  it("FIN/REQ/TOUCH of another client's message → client does not own message", async () => {
    const topic = unique("own");
    const owner = await consumer(topic, "ch", 1);
    const other = await consumer(topic, "ch", 0);
    await post(`/pub?topic=${topic}`, "mine");
    const m = await owner.message();
    other.send(cmd.fin(m.id), cmd.req(m.id, 0), cmd.touch(m.id));
    expect(await other.error()).toBe(`E_FIN_FAILED FIN ${m.id} failed client does not own message`);
    expect(await other.error()).toBe(`E_REQ_FAILED REQ ${m.id} failed client does not own message`);
    expect(await other.error()).toBe(`E_TOUCH_FAILED TOUCH ${m.id} failed client does not own message`);
    await expectOpenAndQuiet(other);
    // The owner still holds it and can FIN it.
    owner.send(cmd.fin(m.id));
    await expectOpenAndQuiet(owner);
    const ch = (await statsJson(`&topic=${topic}`)).topics![0].channels[0];
    expect(ch.in_flight_count).toBe(0);
    expect(ch.depth).toBe(0);
  });

  it("REQ with a timeout over max_req_timeout is clamped, not refused", async () => {
    const topic = unique("req");
    const c = await consumer(topic, "ch", 1);
    await post(`/pub?topic=${topic}`, "x");
    const m = await c.message();
    c.send(cmd.req(m.id, 99_999_999));
    await expectOpenAndQuiet(c);
    const ch = (await statsJson(`&topic=${topic}`)).topics![0].channels[0];
    expect(ch.requeue_count).toBe(1);
    expect(ch.deferred_count).toBe(1);
  });
});

describe("CLS", () => {
  it("answers CLOSE_WAIT; FIN still works after it and RDY is ignored", async () => {
    const topic = unique("cls");
    const c = await consumer(topic, "ch", 1);
    await post(`/pub?topic=${topic}`, "x");
    const m = await c.message();
    c.send(cmd.cls());
    expect(await c.response()).toBe("CLOSE_WAIT");
    c.send(cmd.fin(m.id), cmd.rdy(10), cmd.rdy(99999));
    await expectOpenAndQuiet(c);
    // RDY after CLS is ignored: a new message is not delivered.
    await post(`/pub?topic=${topic}`, "y");
    await expectOpenAndQuiet(c, 200);
    const ch = (await statsJson(`&topic=${topic}`)).topics![0].channels[0];
    expect(ch.in_flight_count).toBe(0);
    expect(ch.depth).toBe(1);
    expect(ch.clients![0].state).toBe(4);
    expect(ch.clients![0].finish_count).toBe(1);
  });
});

describe("IDENTIFY", () => {
  it("answers feature negotiation with nsqd's fields, in nsqd's order", async () => {
    const c = await open();
    c.send(cmd.identify({ feature_negotiation: true, client_id: "x", user_agent: "test/1.0" }));
    const res = JSON.parse(await c.response());
    expect(Object.keys(res)).toEqual([
      "max_rdy_count", "version", "max_msg_timeout", "msg_timeout", "tls_v1", "deflate", "deflate_level",
      "max_deflate_level", "snappy", "sample_rate", "auth_required", "output_buffer_size",
      "output_buffer_timeout", "topology_region", "topology_zone",
    ]);
    expect(res).toEqual({
      max_rdy_count: 2500,
      version: "1.3.0",
      max_msg_timeout: 900000,
      msg_timeout: 60000,
      tls_v1: false,
      deflate: false,
      deflate_level: 6,
      max_deflate_level: 6,
      snappy: false,
      sample_rate: 0,
      auth_required: false,
      output_buffer_size: 16384,
      output_buffer_timeout: 250,
      topology_region: "",
      topology_zone: "",
    });
    await expectOpenAndQuiet(c);
  });

  it("reflects the client's settings; TLS and compression requests are declined", async () => {
    const c = await open();
    c.send(
      cmd.identify({
        feature_negotiation: true,
        msg_timeout: 5000,
        sample_rate: 25,
        output_buffer_size: 1024,
        output_buffer_timeout: 100,
        heartbeat_interval: 2000,
        tls_v1: true,
        deflate: true,
        deflate_level: 3,
        snappy: true,
        unknown_field: [1, 2, 3],
      }),
    );
    const res = JSON.parse(await c.response());
    expect(res).toMatchObject({
      msg_timeout: 5000,
      sample_rate: 25,
      output_buffer_size: 1024,
      output_buffer_timeout: 100,
      tls_v1: false,
      deflate: false,
      deflate_level: 6,
      snappy: false,
    });
  });

  it("output_buffer_size -1 means no buffer (size 1, timeout 0); output_buffer_timeout -1 means 0", async () => {
    const c = await open();
    c.send(cmd.identify({ feature_negotiation: true, output_buffer_size: -1, output_buffer_timeout: 500 }));
    expect(JSON.parse(await c.response())).toMatchObject({ output_buffer_size: 1, output_buffer_timeout: 0 });
    const d = await open();
    d.send(cmd.identify({ feature_negotiation: true, output_buffer_timeout: -1 }));
    expect(JSON.parse(await d.response())).toMatchObject({ output_buffer_size: 16384, output_buffer_timeout: 0 });
  });

  it("answers OK without feature_negotiation, and may be repeated before SUB", async () => {
    const c = await open();
    c.send(cmd.identify({ client_id: "a" }));
    expect(await c.response()).toBe("OK");
    c.send(cmd.identify({ feature_negotiation: false }));
    expect(await c.response()).toBe("OK");
    c.send(cmd.identify({ feature_negotiation: true }));
    expect(JSON.parse(await c.response()).max_rdy_count).toBe(2500);
    c.send(cmd.sub(unique(), "ch"));
    expect(await c.response()).toBe("OK");
    await expectOpenAndQuiet(c);
  });

  it("accepts null fields and a JSON null body, as Go's json.Unmarshal does", async () => {
    const c = await open();
    c.send(cmd.identify({ client_id: null, heartbeat_interval: null }));
    expect(await c.response()).toBe("OK");
    c.send(withBody("IDENTIFY", raw("null")));
    expect(await c.response()).toBe("OK");
    await expectOpenAndQuiet(c);
  });

  it("the boundary values are accepted", async () => {
    const c = await open();
    c.send(
      cmd.identify({
        feature_negotiation: true,
        heartbeat_interval: 60000,
        msg_timeout: 900000,
        sample_rate: 99,
        output_buffer_size: 65536,
        output_buffer_timeout: 30000,
      }),
    );
    expect(JSON.parse(await c.response())).toMatchObject({
      msg_timeout: 900000,
      sample_rate: 99,
      output_buffer_size: 65536,
      output_buffer_timeout: 30000,
    });
    const d = await open();
    d.send(cmd.identify({ heartbeat_interval: 1000, msg_timeout: 1000, output_buffer_size: 64, output_buffer_timeout: 25 }));
    expect(await d.response()).toBe("OK");
  });
});

describe("ordering and durability around errors", () => {
  it("answers one WebSocket message of PUBs to several topics, IDENTIFY, SUB and CLS in order", async () => {
    const [a, b, c3] = [unique("ord-a"), unique("ord-b"), unique("ord-c")];
    const c = await connect();
    clients.push(c);
    c.send(
      cmd.MAGIC_V2,
      cmd.pub(a, "a1"),
      cmd.identify({ feature_negotiation: true }),
      cmd.pub(b, "b1"),
      cmd.mpub(c3, ["c1", "c2"]),
      cmd.dpub(a, 60000, "a-deferred"),
      cmd.pub(a, "a2"),
      cmd.nop(),
      cmd.sub(b, "ch"),
      cmd.pub(c3, "c3"),
      cmd.cls(),
      cmd.fin("short"),
    );
    const got = [];
    for (let i = 0; i < 9; i++) got.push(await c.response());
    expect(got[1].startsWith("{")).toBe(true);
    got[1] = "IDENTIFY";
    expect(got).toEqual(["OK", "IDENTIFY", "OK", "OK", "OK", "OK", "OK", "OK", "CLOSE_WAIT"]);
    await expectFatal(c, "E_INVALID invalid message ID");

    const stats = await statsJson();
    const count = (t: string) => stats.topics!.find((x) => x.topic_name === t)!.message_count;
    expect([count(a), count(b), count(c3)]).toEqual([3, 1, 3]);
    expect(await drain(c3, 3)).toEqual(["c1", "c2", "c3"]);
  });

  /** 300 FINs of ids not in flight; the errors must come back in command order, as nsqd's do. */
  async function finErrorOrder(separateMessages: boolean) {
    const c = await consumer(unique("order"));
    const ids = Array.from({ length: 300 }, (_, i) => i.toString(16).padStart(16, "0"));
    if (separateMessages) for (const id of ids) c.send(cmd.fin(id));
    else c.send(...ids.map((id) => cmd.fin(id)));
    const got: string[] = [];
    for (const id of ids) {
      const e = await c.error();
      expect(e).toMatch(/^E_FIN_FAILED FIN [0-9a-f]{16} failed ID not in flight$/);
      got.push(e.split(" ")[2]);
    }
    const outOfOrder = got.map((g, i) => (g === ids[i] ? -1 : i)).filter((i) => i >= 0);
    expect(outOfOrder, `answers out of order at ${outOfOrder.slice(0, 10).join(",")}`).toEqual([]);
    await expectOpenAndQuiet(c, 50);
  }

  it("answers channel commands sent in one WebSocket message in order", async () => {
    await finErrorOrder(false);
  });

  // workerd can hand a hibernatable socket's messages to the object out of order; the session
  // numbers its link messages and the channel runs them in sequence.
  it("answers channel commands sent in separate WebSocket messages in order", async () => {
    await finErrorOrder(true);
  });

  it("a fatal error loses nothing published before it, by this connection or by others", async () => {
    const topic = unique("keep");
    const c1 = await open();
    c1.send(cmd.pub(topic, "c1-pub"));
    expect(await c1.response()).toBe("OK");
    const c2 = await open();
    c2.send(cmd.mpub(topic, ["c2-mpub-1", "c2-mpub-2"]), cmd.dpub(topic, 0, "c2-dpub"));
    expect(await c2.response()).toBe("OK");
    expect(await c2.response()).toBe("OK");
    expect(await (await post(`/pub?topic=${topic}`, "http-pub")).text()).toBe("OK");

    // Garbage on its own, after acknowledged publishes.
    c1.send(raw("GARBAGE\n"));
    await expectFatal(c1, "E_INVALID invalid command GARBAGE");
    // Publishes and garbage in one WebSocket message: the publishes before it are answered first.
    c2.send(cmd.pub(topic, "c2-pub"), cmd.mpub(topic, ["c2-mpub-3"]), raw("\x00\x01\x02\n"), cmd.pub(topic, "never"));
    expect(await c2.response()).toBe("OK");
    expect(await c2.response()).toBe("OK");
    await expectFatal(c2, "E_INVALID invalid command \x00\x01\x02");

    const got = await drain(topic, 7);
    expect(got.sort()).toEqual(
      ["c1-pub", "c2-mpub-1", "c2-mpub-2", "c2-dpub", "http-pub", "c2-pub", "c2-mpub-3"].sort(),
    );
  });

  it("a bad body size after a PUB in the same message: the PUB is answered and kept", async () => {
    const topic = unique("keep");
    const c = await open();
    c.send(cmd.pub(topic, "kept"), raw(`PUB ${topic}\n`), size(0), cmd.pub(topic, "never"));
    expect(await c.response()).toBe("OK");
    await expectFatal(c, "E_BAD_MESSAGE PUB invalid message body size 0");
    expect(await drain(topic, 1)).toEqual(["kept"]);
  });

  it("a fatal error on a subscribed connection requeues its in-flight message for others", async () => {
    const topic = unique("keep");
    const c = await consumer(topic, "ch", 1);
    await post(`/pub?topic=${topic}`, "in flight");
    const m = await c.message();
    c.send(raw("BAD\n"));
    await expectFatal(c, "E_INVALID invalid command BAD");
    const d = await consumer(topic, "ch", 1);
    const again = await d.message();
    expect(text(again)).toBe("in flight");
    expect(again.id).toBe(m.id);
    expect(again.attempts).toBe(2);
    d.send(cmd.fin(again.id));
    await expectOpenAndQuiet(d);
  });

  describe("an overlong line (nsqd drops the connection without an error frame)", () => {
    const long = () => raw("X".repeat(16 * 1024 + 1));

    it("closes the connection", async () => {
      const c = await open();
      c.send(long());
      await c.closedByServer();
      expect(await c.maybeNext(50).catch(() => null)).toBeNull();
    });

    it("after a PUB in the same WebSocket message: the PUB is answered and kept", async () => {
      const topic = unique("long");
      const c = await open();
      c.send(cmd.pub(topic, "before"), long());
      expect(await c.response()).toBe("OK");
      await c.closedByServer();
      expect(await drain(topic, 1)).toEqual(["before"]);
    });

    it("after a PUB in an earlier WebSocket message: the PUB's OK is still sent before the close", async () => {
      const topic = unique("long");
      const c = await open();
      c.send(cmd.mpub(topic, ["m1", "m2"]));
      c.send(long());
      expect(await c.response()).toBe("OK");
      await c.closedByServer();
      expect(await drain(topic, 2)).toEqual(["m1", "m2"]);
    });
  });
});

describe("after a fatal error", () => {
  it("reads nothing more from the client, even while an earlier answer is pending", async () => {
    const topic = unique("stop");
    const c = await connect();
    c.send(cmd.MAGIC_V2, cmd.pub(topic, "first"), cmd.pub("bad!", "x"));
    // A later WebSocket message, sent before the fatal answer arrives: nsqd never reads it.
    c.send(cmd.pub(topic, "sneaky"));
    expect(await c.response()).toBe("OK");
    expect(await c.error()).toBe('E_BAD_TOPIC PUB topic name "bad!" is not valid');
    await c.closedByServer();
    const depth = (await statsJson(`&topic=${topic}`)).topics![0].depth;
    expect(depth).toBe(1);
  });
});

// nsqd checks a body command's line before it reads the body's size: what the line alone
// decides is answered at once, with no body sent (before, the session waited for a body that
// never came until heartbeats dropped the client).
describe("a body command's line is answered before any body arrives", () => {
  const lineOnly: [string, string, string[]?][] = [
    ["PUB bad!", 'E_BAD_TOPIC PUB topic name "bad!" is not valid'],
    ["PUB", "E_INVALID PUB insufficient number of parameters"],
    ["MPUB bad!", 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "bad!" is not valid'],
    ["MPUB", "E_INVALID MPUB insufficient number of parameters"],
    ["DPUB t 3600001", "E_INVALID DPUB timeout 3600001 out of range 0-3600000"],
    ["DPUB t 12x", "E_INVALID DPUB could not parse timeout 12x"],
    ["DPUB t", "E_INVALID DPUB insufficient number of parameters"],
    ["AUTH a b", "E_INVALID AUTH invalid number of parameters"],
  ];
  for (const [line, error] of lineOnly) {
    it(`${JSON.stringify(line)} alone: ${error.split(" ")[0]} and a close`, async () => {
      const c = await open();
      c.send(raw(`${line}\n`));
      await expectFatal(c, error);
    });
  }

  it("IDENTIFY after SUB, with no body: E_INVALID at once", async () => {
    const topic = unique("line");
    const c = await open();
    c.send(cmd.sub(topic, "ch"), raw("IDENTIFY\n"));
    expect(await c.response()).toBe("OK");
    await expectFatal(c, "E_INVALID cannot IDENTIFY in current state");
  });

  it("AUTH after SUB, with half a size: E_INVALID at once", async () => {
    const c = await open();
    c.send(cmd.sub(unique("line"), "ch"), raw("AUTH\n\x00\x00"));
    expect(await c.response()).toBe("OK");
    await expectFatal(c, "E_INVALID cannot AUTH in current state");
  });

  it("a good line waits for its body, then publishes it", async () => {
    const topic = unique("line");
    const c = await open();
    c.send(raw(`PUB ${topic}\n`));
    await expectOpenAndQuiet(c);
    c.send(size(4), raw("late"));
    expect(await c.response()).toBe("OK");
    expect(await drain(topic, 1)).toEqual(["late"]);
  });
});

describe("a fatal error behind publishes still under way", () => {
  it("answers OK, OK, then the error, then closes; both publishes are stored", async () => {
    const topic = unique("behind");
    const c = await open();
    const mb = "x".repeat(1_000_000);
    c.send(cmd.mpub(topic, [mb, mb, mb, mb, mb].map((b, i) => b + i)));
    await new Promise((r) => setTimeout(r, 5));
    // Queued behind the MPUB's RPC under way, then an unknown command.
    c.send(cmd.pub(topic, "y"), raw("XYZ\n"));
    expect(await c.response(15_000)).toBe("OK");
    expect(await c.response(15_000)).toBe("OK");
    await expectFatal(c, "E_INVALID invalid command XYZ");
    const depth = (await statsJson(`&topic=${topic}`)).topics![0].depth;
    expect(depth).toBe(6);
  });
});
