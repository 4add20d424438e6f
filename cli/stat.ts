// `nsq-edge stat <topic> <channel>`: nsq_stat's rolling table, from the service's /stats: every
// interval, the ingress and egress rates since the last poll, the depths and the counters.
import { CommandError, UsageError, duration, integer, interrupted, parse, preflight, request, service, serviceHelp, serviceOptions, statusError, writeOut, type Service } from "./common.js";

export const help = `usage: nsq-edge stat <topic> <channel> [--interval 2s] [--count N] [options]

Polls the service's /stats and prints a line per interval, as nsq_stat does: messages per
second in (ingress) and out (egress) since the previous poll, the channel's depth (total, in
memory, in storage), in flight, deferred, requeued, timed out, messages and clients.

options:
${serviceHelp}
  --interval D     time between polls (default 2s; e.g. 500ms, 1m)
  --count N        exit after N lines (default: run until Ctrl-C)
  -h, --help       this help`;

interface ChannelStats {
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  requeue_count: number;
  timeout_count: number;
  message_count: number;
  client_count: number;
  paused?: boolean;
}

const pad = (v: string | number, n: number) => String(v).padStart(n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function poll(svc: Service, topic: string, channel: string): Promise<ChannelStats> {
  // Filtered by topic only: the service (as nsqd) leaves out a topic without the channel asked for.
  const q = `/stats?format=json&topic=${encodeURIComponent(topic)}`;
  const res = await request(svc, q);
  const text = await res.text();
  if (res.status !== 200) throw statusError(svc, `${svc.base}/stats`, res.status, text);
  let stats: { topics?: { topic_name: string; channels?: (ChannelStats & { channel_name: string })[] }[] };
  try {
    stats = JSON.parse(text);
  } catch {
    throw new CommandError(`${svc.base}/stats did not answer JSON`);
  }
  const t = stats.topics?.find((x) => x.topic_name === topic);
  if (!t) throw new CommandError(`no topic ${topic} on ${svc.base}`);
  const c = t.channels?.find((x) => x.channel_name === channel);
  if (!c) throw new CommandError(`no channel ${channel} in topic ${topic}`);
  return c;
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...serviceOptions,
    interval: { type: "string", default: "2s" },
    count: { type: "string" },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError("a topic and a channel are required");
  const [topic, channel] = positionals as [string, string];
  const interval = duration("--interval", values.interval);
  const count = values.count === undefined ? Infinity : integer("--count", values.count, 1);
  const svc = service(values);

  await preflight(svc);
  let stop = false;
  void interrupted().then(() => (stop = true));
  const seconds = interval / 1000;
  let previous: ChannelStats | null = null;
  for (let i = 0; i <= count && !stop; i++) {
    const c = await poll(svc, topic, channel);
    if (i % 25 === 0) {
      await writeOut(
        "------rate------+----------------depth----------------+--------------metadata---------------\n" +
          `${pad("ingress", 7)} ${pad("egress", 7)} | ${pad("total", 7)} ${pad("mem", 7)} ${pad("disk", 7)} ${pad("inflt", 5)} ${pad("def", 5)} | ` +
          `${pad("req", 7)} ${pad("t-o", 7)} ${pad("msgs", 12)} ${pad("clients", 7)}\n`,
      );
    }
    if (previous) {
      const ingress = Math.trunc((c.message_count - previous.message_count) / seconds);
      const egress = Math.trunc((c.message_count - previous.message_count - (c.depth - previous.depth)) / seconds);
      await writeOut(
        `${pad(ingress, 7)} ${pad(egress, 7)} | ${pad(c.depth, 7)} ${pad(c.depth - c.backend_depth, 7)} ${pad(c.backend_depth, 7)} ` +
          `${pad(c.in_flight_count, 5)} ${pad(c.deferred_count, 5)} | ${pad(c.requeue_count, 7)} ${pad(c.timeout_count, 7)} ` +
          `${pad(c.message_count, 12)} ${pad(c.client_count, 7)}\n`,
      );
    }
    previous = c;
    if (i < count) {
      const until = Date.now() + interval;
      while (!stop && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
    }
  }
  return 0;
}
