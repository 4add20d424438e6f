// A service restart behind the bridge: nsqjs sees its connections close (as when nsqd restarts),
// its own reconnect logic brings them back through the bridge, which stayed up, and consuming
// and publishing go on.
import type * as nsq from "nsqjs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Service } from "../e2e/service";
import { Bridge, eventually, openReader, openWriter, publish, unique, waitForClients } from "./helpers";

let svc: Service;
let bridge: Bridge;

beforeAll(async () => {
  svc = await Service.create();
  bridge = await Bridge.open(svc.url);
});

afterAll(async () => {
  await bridge?.stop();
  await svc?.stop();
});

it("a service restart closes nsqjs's connections; nsqjs reconnects through the bridge and goes on", async () => {
  const topic = unique("restart");
  const w = await openWriter(bridge.tcpPort);
  let writerClosed = false;
  w.on("closed", () => (writerClosed = true));
  w.on("error", () => {});
  await publish(w, topic, "before");

  const got: string[] = [];
  let readerClosed = 0;
  let readerConnected = 0;
  const r = await openReader(topic, "c", { nsqdTCPAddresses: [`127.0.0.1:${bridge.tcpPort}`], lookupdPollInterval: 1 });
  r.on("error", () => {});
  r.on("nsqd_closed", () => readerClosed++);
  r.on("nsqd_connected", () => readerConnected++);
  r.on("message", (msg: nsq.Message) => {
    got.push(msg.body.toString());
    msg.finish();
  });
  await eventually(() => expect(got).toEqual(["before"]));
  await waitForClients(svc.url, topic, "c", 1);

  await svc.kill();
  await eventually(() => expect([readerClosed, writerClosed]).toEqual([1, true]));
  expect(bridge.proc.exitCode).toBe(null); // the bridge stays up

  await svc.start(); // same port, same state
  // nsqjs retries its nsqd addresses every lookupdPollInterval; a fresh Writer publishes.
  await eventually(() => expect(readerConnected).toBeGreaterThanOrEqual(1), 20_000);
  await waitForClients(svc.url, topic, "c", 1);
  const w2 = await openWriter(bridge.tcpPort);
  await publish(w2, topic, "after");
  await eventually(() => expect(got).toEqual(["before", "after"]), 15_000);
  r.close();
  w2.close();
});
