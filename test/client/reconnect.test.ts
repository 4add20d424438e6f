// Reconnection: the service is SIGKILLed and started again on the same state directory; the
// Consumer reconnects by itself (jittered backoff, lookup first) and gets both the message it
// held unfinished at the kill and new ones; the Producer opens a new connection on its next publish.
import { afterAll, beforeAll, expect, it } from "vitest";
import { ConnectionError, Consumer, Producer, type Message } from "@nsq-edge/client";
import { Service } from "../e2e/service";
import { eventually, sleep } from "./helpers";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(async () => {
  await svc?.stop();
});

it("reconnects after the service restarts; what was in flight at the kill comes again", async () => {
  const topic = "restart";
  const producer = new Producer(svc.url);
  await producer.publish(topic, "before-1");

  const got: Message[] = [];
  const events: string[] = [];
  const c = new Consumer(topic, "ch", {
    url: svc.url,
    maxInFlight: 10,
    reconnectDelay: 200,
    maxReconnectDelay: 1000,
    lookupdPollInterval: 60_000, // reconnection must not wait for the poll
    handler: (m) => {
      got.push(m);
      // The first one is held unfinished, so it is in flight when the service dies.
      if (m.text() === "held") m.disableAutoResponse();
    },
  });
  c.on("connect", () => void events.push("connect"));
  c.on("disconnect", () => void events.push("disconnect"));
  await c.ready();
  await eventually(() => expect(got.map((m) => m.text())).toEqual(["before-1"]));
  await producer.publish(topic, "held");
  await eventually(() => expect(got.map((m) => m.text())).toEqual(["before-1", "held"]));
  expect(c.stats().inFlight).toBe(1);

  await svc.kill();
  await eventually(() => expect(events).toEqual(["connect", "disconnect"]));
  // While the service is down a publish fails with ConnectionError...
  await expect(producer.publish(topic, "lost")).rejects.toBeInstanceOf(ConnectionError);
  await sleep(1500); // a few failed reconnect rounds
  await svc.start();

  await eventually(() => expect(events).toEqual(["connect", "disconnect", "connect"]), 20_000);
  // ...and after the restart the same producer publishes again.
  await producer.publish(topic, "after-1");
  await eventually(() => expect(got.map((m) => m.text()).sort()).toEqual(["after-1", "before-1", "held", "held"]), 20_000);
  const again = got.filter((m) => m.text() === "held");
  expect(again[1].id).toBe(again[0].id);
  again[1].finish();
  expect(c.stats().connections).toBe(1);

  await c.close(2000);
  await producer.close();
});
