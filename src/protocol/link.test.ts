import { describe, expect, it } from "vitest";
import { clientInfoOf, decodeLink, encodeLink, linkRequest, type ClientInfo, type LinkCommand } from "./link";

const INFO: ClientInfo = {
  client_id: "c", hostname: "h", remote_address: "127.0.0.1:5000", user_agent: "ua",
  msg_timeout: 60_000, sample_rate: 0, connect_ts: 1, deflate: false, snappy: false, tls: false,
  authed: true, auth_identity: "billing", auth_identity_url: "",
};

describe("the link's client header", () => {
  it("carries ClientInfo from linkRequest to clientInfoOf unchanged", () => {
    expect(clientInfoOf(linkRequest(INFO))).toEqual(INFO);
  });

  it("refuses a missing header, a missing field and a mistyped one, naming it", () => {
    expect(() => clientInfoOf(new Request("https://channel/consume"))).toThrow(/x-nsq-client/);
    const without = { ...INFO } as Partial<ClientInfo>;
    delete without.msg_timeout;
    expect(() => clientInfoOf(linkRequest(without as ClientInfo))).toThrow(/msg_timeout is not a number/);
    expect(() => clientInfoOf(linkRequest({ ...INFO, tls: "no" as never }))).toThrow(/tls is not a boolean/);
    expect(() => clientInfoOf(linkRequest({ ...INFO, msg_timeout: 0 }))).toThrow(/msg_timeout must be positive/);
  });

  it("keeps only the contract's fields", () => {
    expect(clientInfoOf(linkRequest({ ...INFO, extra: 1 } as ClientInfo))).toEqual(INFO);
  });
});

describe("link records", () => {
  it("round-trip every command in order", () => {
    const id = "0123456789abcdef";
    const cmds: LinkCommand[] = [{ op: "RDY", count: 7 }, { op: "FIN", id }, { op: "REQ", id, delayMs: 250 }, { op: "TOUCH", id }, { op: "CLS" }];
    const seen: string[] = [];
    decodeLink(encodeLink(3, cmds).subarray(4), {
      rdy: (n) => seen.push(`RDY ${n}`),
      fin: () => seen.push("FIN"),
      req: (_b, _at, ms) => seen.push(`REQ ${ms}`),
      touch: () => seen.push("TOUCH"),
      cls: () => seen.push("CLS"),
    });
    expect(seen).toEqual(["RDY 7", "FIN", "REQ 250", "TOUCH", "CLS"]);
  });
});
