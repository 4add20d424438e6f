// nsqlookupd's API, answered by the registry: the Worker is the one "node" that produces every
// topic.
//
//   GET /lookup?topic=    GET /topics    GET /channels?topic=    GET /nodes
//   POST /topic/tombstone?topic=&node=
//
// nsqlookupd's other writes share their paths with nsqd's API served here, and nsqd's answer
// them: /topic/create and /channel/create create (which registers); /topic/delete and
// /channel/delete delete the topic's or channel's messages, which is what nsqadmin means by
// them, since it calls the same on the producer next (that second call then finds nothing:
// 404, which nsqadmin shows as a warning). /topic/tombstone is lookupd's alone: nsqlookupd hides
// the producer of a topic from /lookup for a while, as nsqadmin then deletes the topic from that
// nsqd; here the one producer is the service itself, whose topic nsqadmin deletes next, so it
// answers 200 and changes nothing (never a loss of messages).
import type { Context } from "hono";
import { VERSION, type Env } from "../config";
import { registryStub } from "../stubs";
import { HttpError, nsqEmpty, nsqJson, query } from "./respond";
import { requestPort, type RouteFn } from "./nsqd";
import { visibleTo } from "./auth";
import type { Lookup, Nodes, PeerInfo } from "../lookupd-answers";

type C = Context<{ Bindings: Env }>;

export function lookupdRoutes(route: RouteFn) {
  route("GET", "/lookup", "read", lookup);
  route("GET", "/topics", "read", async (c) => {
    const see = visibleTo(c);
    return nsqJson({ topics: (await registryStub(c.env).topics()).filter((t) => see(t)) });
  });
  route("GET", "/channels", "read", async (c) => {
    const topic = query(c).get("topic");
    if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
    const see = visibleTo(c);
    return nsqJson({ channels: see(topic) ? (await registryStub(c.env).channels(topic)).filter((ch) => see(topic, ch)) : [] });
  });
  route("GET", "/nodes", "read", nodes);
  route("POST", "/topic/tombstone", "admin", (c) => {
    const q = query(c);
    if (q.get("topic") === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
    if (q.get("node") === undefined) throw new HttpError(400, "MISSING_ARG_NODE");
    return nsqEmpty();
  });
}

/** This service as nsqlookupd describes an nsqd (PeerInfo). */
function thisNode(c: C): PeerInfo {
  const url = new URL(c.req.url);
  const port = requestPort(url);
  return {
    remote_address: `${url.hostname}:${port}`,
    hostname: url.hostname,
    broadcast_address: url.hostname,
    tcp_port: port,
    http_port: port,
    version: VERSION,
    topology_zone: "",
    topology_region: "",
  };
}

async function lookup(c: C) {
  const topic = query(c).get("topic");
  if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
  const registry = registryStub(c.env);
  const see = visibleTo(c);
  // A topic the identity may not see is one that does not exist.
  if (!see(topic) || !(await registry.hasTopic(topic))) throw new HttpError(404, "TOPIC_NOT_FOUND");
  const channels = (await registry.channels(topic)).filter((ch) => see(topic, ch));
  return nsqJson({ channels, producers: [thisNode(c)] } satisfies Lookup);
}

async function nodes(c: C) {
  const see = visibleTo(c);
  const topics = (await registryStub(c.env).topics()).filter((t) => see(t));
  return nsqJson({ producers: [{ ...thisNode(c), tombstones: topics.map(() => false), topics }] } satisfies Nodes);
}
