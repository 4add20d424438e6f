// README "Using your existing NSQ clients": each `npx nsq-edge bridge` line of the block, run
// with bash, in front of a service on a port that is not 4151 (what `npm start -- --port 5151`
// gives), and the nsqjs snippet through it. The README's addresses are rewritten to the test's:
// the service's URL (5151 and the default's $NSQ_EDGE_URL), and the bridge's listeners get port 0
// (flags appended) so the test runs beside anything else on the machine; the nsqjs snippet's
// 4150 and 4161 become the ports the bridge printed.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Service } from "../e2e/service";
import { readmeSnippet } from "../helpers/readme";
import { channelStats } from "../helpers/service";
import { eventually } from "../helpers/wait";
import { Run, commands } from "./run";

let svc: Service;
beforeAll(async () => {
  svc = await Service.create();
});
afterAll(async () => {
  await svc?.stop();
});

const anyPorts = "--tcp-address 127.0.0.1:0 --lookupd-http-address 127.0.0.1:0 --http-address 127.0.0.1:0";

/** Starts a README bridge line; returns it with the addresses it printed. */
async function bridge(line: string, env: Record<string, string> = {}) {
  const run = Run.sh(`exec ${line} ${anyPorts}`, { env });
  const [, tcp] = await run.waitFor(/nsqd TCP\s+127\.0\.0\.1:(\d+)/);
  const [, lookupd, httpPort] = await run.waitFor(/nsqlookupd HTTP\s+127\.0\.0\.1:(\d+) \(producer 127\.0\.0\.1:\d+, http_port (\d+)\)/);
  const [, http] = await run.waitFor(/nsqd HTTP\s+127\.0\.0\.1:(\d+) -> (\S+)/);
  return { run, tcp: Number(tcp), lookupd: Number(lookupd), http: Number(http), advertisedHttp: Number(httpPort) };
}

it("bridge: the three lines run, --url reaching a service on another port", async () => {
  const lines = commands(readmeSnippet("bridge"));
  expect(lines).toEqual([
    "npx nsq-edge bridge",
    "npx nsq-edge bridge --url http://127.0.0.1:5151",
    'npx nsq-edge bridge --url https://nsq.example.com --token "$NSQ_TOKEN"',
  ]);
  const runs = [
    // the default URL is $NSQ_EDGE_URL, else http://127.0.0.1:4151
    () => bridge(lines[0], { NSQ_EDGE_URL: svc.url }),
    () => bridge(lines[1].replace("http://127.0.0.1:5151", svc.url)),
    () => bridge(lines[2].replace("https://nsq.example.com", svc.url), { NSQ_TOKEN: "t0ken" }),
  ];
  for (const [i, start] of runs.entries()) {
    const b = await start();
    try {
      expect(b.run.stdout).toContain(`nsq-edge bridge to ${svc.url}${i === 2 ? " (with a token)" : ""}\n`);
      // The service is not on the bridge's nsqd HTTP address: the bridge forwards it, and
      // lookupd advertises that port.
      expect(b.advertisedHttp).toBe(b.http);
      const topic = `bridge-line-${i}`;
      expect(await (await fetch(`http://127.0.0.1:${b.http}/pub?topic=${topic}`, { method: "POST", body: "x" })).text()).toBe("OK");
      const lookup = (await (await fetch(`http://127.0.0.1:${b.lookupd}/lookup?topic=${topic}`)).json()) as any;
      expect(lookup.producers).toMatchObject([{ broadcast_address: "127.0.0.1", tcp_port: b.tcp, http_port: b.http }]);
    } finally {
      await b.run.stop();
    }
  }
});

it("nsqjs: the snippet publishes a, b, c through the bridge and its reader prints and FINs them", async () => {
  const snippet = readmeSnippet("nsqjs");
  expect(snippet).toContain('"127.0.0.1:4161"');
  expect(snippet).toContain('"127.0.0.1", 4150');
  const b = await bridge("npx nsq-edge bridge", { NSQ_EDGE_URL: svc.url });
  // The reader looks the topic up once at start (then every 60 s): let the topic exist, as it
  // does once anything has published to it, so the first lookup finds it.
  expect((await svc.fetch("/topic/create?topic=orders", { method: "POST" })).status).toBe(200);
  const code = snippet.replace('"127.0.0.1:4161"', `"127.0.0.1:${b.lookupd}"`).replace('"127.0.0.1", 4150', `"127.0.0.1", ${b.tcp}`);
  const client = Run.node(code, "commonjs");
  try {
    await eventually(() => expect(client.stdout.split("\n").filter(Boolean).sort()).toEqual(["a", "b", "c"]), 30_000);
    await eventually(async () => expect(await channelStats(svc.url, "orders", "billing")).toMatchObject({ depth: 0, in_flight_count: 0, message_count: 3, requeue_count: 0 }));
    expect(client.stderr).toBe("");
  } finally {
    await client.stop();
    await b.run.stop();
  }
});
