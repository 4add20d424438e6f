// Requests that workerd's HTTP parser answers otherwise than nsqd (Go's net/http + httprouter),
// sent as raw bytes to the service as `npm start` runs it: scripts/http-front.mjs answers them.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Service } from "./service";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(async () => {
  await svc?.stop();
});

/** Sends `bytes`, collects the answer until the server closes or `quietMs` pass without one. */
function raw(bytes: string | Buffer, quietMs = 700): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = connect(svc.port, "127.0.0.1", () => s.write(bytes));
    let text = "";
    let timer = setTimeout(() => done(false), quietMs);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed, ms: Date.now() - t0 });
    };
    s.on("data", (d) => {
      text += d.toString("latin1");
      clearTimeout(timer);
      timer = setTimeout(() => done(false), quietMs);
    });
    s.on("end", () => done(true));
    s.on("error", reject);
  });
}

const GO_400 = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request";

const status = (text: string) => text.slice(0, text.indexOf("\r\n"));
const header = (text: string, name: string) =>
  new RegExp(`^${name}: (.*)$`, "im").exec(text.slice(0, text.indexOf("\r\n\r\n")))?.[1]?.trim();
const body = (text: string) => text.slice(text.indexOf("\r\n\r\n") + 4);

describe("methods outside workerd's list are routed as nsqd's router does", () => {
  for (const method of ["FOO", "BREW", "get", "CONNECT"]) {
    it(`${method} /pub: 405 with Allow; ${method} on an unknown path: 404`, async () => {
      const r = await raw(`${method} /pub HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(status(r.text)).toBe("HTTP/1.1 405 Method Not Allowed");
      expect(header(r.text, "Allow")).toBe("OPTIONS, POST");
      expect(header(r.text, "X-NSQ-Content-Type")).toBe("nsq; version=1.0");
      expect(body(r.text)).toBe('{"message":"METHOD_NOT_ALLOWED"}');
      const n = await raw(`${method} /nope HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(status(n.text)).toBe("HTTP/1.1 404 Not Found");
      expect(body(n.text)).toBe('{"message":"NOT_FOUND"}');
    });
  }
});

describe("a bad Content-Length or Transfer-Encoding: Go's 400 (501), not 500", () => {
  for (const cl of ["-1", "abc", "+5", "5, 5", "", "99999999999999999999"]) {
    it(`Content-Length: ${JSON.stringify(cl)} is 400 and a close`, async () => {
      const r = await raw(`POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: ${cl}\r\n\r\nhello`);
      expect(r.text).toBe(GO_400);
      expect(r.closed).toBe(true);
    });
  }

  it("two different Content-Length headers are 400; two equal ones are one", async () => {
    expect((await raw("POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")).text).toBe(GO_400);
    const r = await raw("POST /pub?topic=cl-twice HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
    expect(status(r.text)).toBe("HTTP/1.1 200 OK");
    expect(body(r.text)).toBe("OK");
  });

  for (const te of ["gzip", "identity", "chunked, chunked"]) {
    it(`Transfer-Encoding: ${te} is 501 Unsupported transfer encoding`, async () => {
      const r = await raw(`POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
      expect(status(r.text)).toBe("HTTP/1.1 501 Not Implemented");
      expect(body(r.text)).toBe("Unsupported transfer encoding");
    });
  }

  it("chunked with a Content-Length: the length is ignored (as Go and RFC 9112 do)", async () => {
    const r = await raw("POST /pub?topic=te-cl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: -1\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    expect(body(r.text)).toBe("OK");
  });

  it("a bad request after a good one on the same connection: the good one's answer, then Go's 400", async () => {
    const r = await raw("GET /ping HTTP/1.1\r\nHost: x\r\n\r\nPOST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
    expect(r.text.startsWith("HTTP/1.1 200 OK")).toBe(true);
    expect(r.text.endsWith(`OK${GO_400}`)).toBe(true);
    expect(r.closed).toBe(true);
  });

  it("a declared length over the limit is 413 before the body is sent", async () => {
    const pub = await raw("POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 5000);
    expect(status(pub.text)).toBe("HTTP/1.1 413 Payload Too Large");
    expect(body(pub.text)).toBe('{"message":"MSG_TOO_BIG"}');
    const mpub = await raw("POST /mpub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 5000);
    expect(body(mpub.text)).toBe('{"message":"BODY_TOO_BIG"}');
  });
});

describe("bytes that are not HTTP", () => {
  it("an NSQ TCP client on the HTTP port gets Go's 400 and a close at once, not 15 s of silence", async () => {
    const identify = Buffer.from('{"client_id":"x"}');
    const size = Buffer.alloc(4);
    size.writeUInt32BE(identify.length);
    const r = await raw(Buffer.concat([Buffer.from("  V2IDENTIFY\n"), size, identify]), 5000);
    expect(r.text).toBe(GO_400);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(2000);
  });

  it("a request line without a path or version is 400", async () => {
    expect((await raw("GET ping HTTP/1.1\r\nHost: x\r\n\r\n")).text).toBe(GO_400);
    expect((await raw("GET /ping\r\n\r\n")).text).toBe(GO_400);
    expect((await raw("hello\n")).text).toBe(GO_400);
  });

  it("good requests still pass: keep-alive, pipelined, a WebSocket", async () => {
    const r = await raw("GET /ping HTTP/1.1\r\nHost: x\r\n\r\nPOST /pub?topic=ok HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(r.text.match(/HTTP\/1\.1 200 OK/g)?.length).toBe(3);
    const c = await svc.connect();
    c.close();
  });
});
