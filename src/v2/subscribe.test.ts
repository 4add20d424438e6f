import { describe, expect, it } from "vitest";
import { config } from "../config";
import { initialSettings } from "./identify";
import { clientInfo, joinWithRetry, SUB_RETRY_MS } from "./subscribe";

describe("joinWithRetry (nsqd's SUB retry loop)", () => {
  /** A join that finds the channel deleted `misses` times, then joins; records the waits. */
  function joins(misses: number) {
    const log: string[] = [];
    let tries = 0;
    const tryJoin = async () => {
      log.push("join");
      return ++tries > misses ? "link" : null;
    };
    const wait = async (ms: number) => {
      log.push(`wait ${ms}`);
    };
    return { log, tryJoin, wait };
  }

  it("joins at once when the channel is there", async () => {
    const j = joins(0);
    await expect(joinWithRetry(j.tryJoin, j.wait)).resolves.toBe("link");
    expect(j.log).toEqual(["join"]);
  });

  it("retries once, 100 ms later, when the channel was deleted under the join", async () => {
    const j = joins(1);
    await expect(joinWithRetry(j.tryJoin, j.wait)).resolves.toBe("link");
    expect(SUB_RETRY_MS).toBe(100);
    expect(j.log).toEqual(["join", "wait 100", "join"]);
  });

  it("fails with nsqd's text after the retry, with no third try", async () => {
    const j = joins(2);
    await expect(joinWithRetry(j.tryJoin, j.wait)).rejects.toThrow(/^to deleted topic\/channel$/);
    expect(j.log).toEqual(["join", "wait 100", "join"]);
  });
});

describe("clientInfo", () => {
  it("carries the negotiated settings, the address and the time in seconds", () => {
    const s = { ...initialSettings(config({}), "h"), clientId: "c", userAgent: "ua", msgTimeout: 5000, sampleRate: 3 };
    expect(clientInfo(s, "1.2.3.4:5", 1_700_000_000_999)).toEqual({
      client_id: "c",
      hostname: "h",
      remote_address: "1.2.3.4:5",
      user_agent: "ua",
      msg_timeout: 5000,
      sample_rate: 3,
      connect_ts: 1_700_000_000,
      deflate: false,
      snappy: false,
      tls: false,
      authed: false,
      auth_identity: "",
      auth_identity_url: "",
    });
  });
});
