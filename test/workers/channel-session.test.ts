// A session served by its channel's object: a client that names its channel in the /ws URL gets
// the same V2 byte stream (the behaviour suites run that way too, named.vitest.config.ts); here,
// what is particular to it: the URL's checks, a SUB of another channel, publishing, and the
// channel going away under it.
import { describe, expect, it } from "vitest";
import { http, statsJson, unique } from "../helpers/workers";
import { admin, bodies, channelStats, client, closeClientsAfterEach, cmd, eventually, pubHttp, receive } from "../helpers/semantics";

closeClientsAfterEach();

const upgrade = (query: string) => http(`/ws${query}`, { headers: { Upgrade: "websocket" } });

describe("/ws?topic=&channel=", () => {
  it("refuses a bad or missing name before the upgrade, as nsqd's names", async () => {
    for (const [query, code] of [
      ["?topic=bad*name&channel=c", "INVALID_TOPIC"],
      ["?channel=c", "INVALID_TOPIC"],
      ["?topic=t", "INVALID_CHANNEL"],
      ["?topic=t&channel=", "INVALID_CHANNEL"],
      [`?topic=t&channel=${"c".repeat(65)}`, "INVALID_CHANNEL"],
    ] as const) {
      const res = await upgrade(query);
      expect(res.status, query).toBe(400);
      expect(res.webSocket).toBeNull();
      expect(await res.json()).toEqual({ message: code });
    }
  });

  it("serves the named channel: SUB creates it, RDY, FIN, REQ; /stats shows the client", async () => {
    const topic = unique("named");
    const c = await client({ topic, channel: "ch" });
    await c.subscribe(topic, "ch", 2);
    await pubHttp(topic, "a");
    await pubHttp(topic, "b");
    const [a, b] = await receive(c, 2);
    expect(bodies([a, b])).toEqual(["a", "b"]);
    c.send(cmd.fin(a.id), cmd.req(b.id, 0));
    const [again] = await receive(c, 1, { fin: true });
    expect(again).toMatchObject({ id: b.id, attempts: 2 });
    await eventually(async () =>
      expect(await channelStats(topic, "ch")).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 2, requeue_count: 1, client_count: 1 }),
    );
    expect((await channelStats(topic, "ch"))!.clients![0]).toMatchObject({ ready_count: 2, finish_count: 2, requeue_count: 1 });
  });

  it("is served by the channel's object: each client message is an event there (on /ws, a NOP never reaches it)", async () => {
    const topic = unique("named-where");
    const events = async (channel: string) => {
      const doc = await statsJson(`&topic=${topic}&include_requests=true`);
      return (doc.topics![0]!.channels.find((ch) => ch.channel_name === channel) as unknown as { requests: number }).requests;
    };
    const named = await client({ topic, channel: "named" });
    await named.subscribe(topic, "named", 1);
    const plain = await client();
    await plain.subscribe(topic, "plain", 1);
    const before = { named: await events("named"), plain: await events("plain") };
    for (let i = 0; i < 10; i++) {
      named.send(cmd.nop());
      plain.send(cmd.nop());
      await new Promise((r) => setTimeout(r, 5));
    }
    await eventually(async () => expect((await events("named")) - before.named).toBeGreaterThanOrEqual(10));
    expect((await events("plain")) - before.plain).toBeLessThan(5);
  });

  it("a SUB of another channel than the URL's is served too (over a link from the object)", async () => {
    const topic = unique("named-other");
    const c = await client({ topic, channel: "named" });
    await c.subscribe(topic, "elsewhere", 1);
    await pubHttp(topic, "m");
    expect(bodies(await receive(c, 1, { fin: true }))).toEqual(["m"]);
    await eventually(async () => expect(await channelStats(topic, "elsewhere")).toMatchObject({ client_count: 1, depth: 0 }));
    expect(await channelStats(topic, "named")).toBeNull();
  });

  it("publishes over it: PUB, MPUB, DPUB, answered in order", async () => {
    const topic = unique("named-pub");
    const p = await client({ topic, channel: "ch" });
    p.send(cmd.MAGIC_V2, cmd.pub(topic, "p"), cmd.mpub(topic, ["m1", "m2"]), cmd.dpub(topic, 50, "d"));
    for (let i = 0; i < 3; i++) expect(await p.response()).toBe("OK");
    const c = await client({ topic, channel: "ch" });
    await c.subscribe(topic, "ch", 10);
    expect(bodies(await receive(c, 4, { fin: true })).sort()).toEqual(["d", "m1", "m2", "p"]);
  });

  it("deleting the channel closes its consumers, as nsqd; what they had in flight is gone with it", async () => {
    const topic = unique("named-del");
    const c = await client({ topic, channel: "ch" });
    await c.subscribe(topic, "ch", 1);
    await pubHttp(topic, "x");
    await receive(c, 1);
    await admin("/channel/delete", topic, "ch");
    await c.closedByServer();
    expect(await channelStats(topic, "ch")).toBeNull();
  });

  it("a consumer that leaves puts its messages in flight back, for the next one", async () => {
    const topic = unique("named-leave");
    const first = await client({ topic, channel: "ch" });
    await first.subscribe(topic, "ch", 5);
    await pubHttp(topic, "kept");
    await receive(first, 1);
    first.close();
    await eventually(async () => expect(await channelStats(topic, "ch")).toMatchObject({ client_count: 0, in_flight_count: 0, depth: 1 }));
    const next = await client({ topic, channel: "ch" });
    await next.subscribe(topic, "ch", 1);
    const [m] = await receive(next, 1, { fin: true });
    expect(m).toMatchObject({ attempts: 2 });
  });
});
