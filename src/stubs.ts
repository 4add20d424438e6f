// How the Worker and the objects find each other: one object per topic, one per topic+channel,
// one registry. ("/" cannot appear in a name, so "topic/channel" is unambiguous.)
import type { Env } from "./config";

export const topicStub = (env: Env, topic: string) => env.TOPIC.get(env.TOPIC.idFromName(topic));

export const channelStub = (env: Env, topic: string, channel: string) =>
  env.CHANNEL.get(env.CHANNEL.idFromName(`${topic}/${channel}`));

export const registryStub = (env: Env) => env.REGISTRY.get(env.REGISTRY.idFromName("registry"));
