// scripts/http-front.mjs's reading of request heads, as a pure function (the socket-level
// behaviour is test/e2e/http-malformed.test.ts): the client address it tells the Worker.
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no types
import { checkHead } from "../../scripts/http-front.mjs";

const upgrade = (...extra: string[]) =>
  ["GET /ws HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: Upgrade", ...extra].join("\r\n");
const headers = (head: string) => head.trimEnd().split("\r\n").slice(1);

describe("the client address on a WebSocket upgrade", () => {
  it("is the socket's peer", () => {
    const { head } = checkHead(upgrade(), "192.0.2.10:50000");
    expect(headers(head)).toContain("X-NSQ-Remote-Address: 192.0.2.10:50000");
  });

  it("replaces what a client that is not on this machine claims", () => {
    const { head } = checkHead(upgrade("x-nsq-remote-address: 10.0.0.1:1"), "192.0.2.10:50000");
    expect(headers(head).filter((h: string) => /remote-address/i.test(h))).toEqual(["X-NSQ-Remote-Address: 192.0.2.10:50000"]);
  });

  it("keeps what a bridge on this machine reports about the client it relays", () => {
    const { head } = checkHead(upgrade("X-NSQ-Remote-Address: 127.0.0.1:4242"), "127.0.0.1:50000");
    expect(head).toBeNull(); // passed on as it came
  });

  it("is the peer's on a plain request from another machine (auth's remote_ip), whatever the client claimed", () => {
    const { head, body } = checkHead("POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nX-NSQ-Remote-Address: 10.0.0.1:1\r\nContent-Length: 2", "192.0.2.10:50000");
    expect(body).toBe(2);
    expect(head).toContain("X-NSQ-Remote-Address: 192.0.2.10:50000\r\n");
    expect(head).not.toContain("10.0.0.1");
  });

  it("is not added to a plain request from this machine (no rewrite: the Worker takes 127.0.0.1)", () => {
    expect(checkHead("POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 2", "127.0.0.1:50000")).toEqual({ head: null, body: 2 });
  });
});
