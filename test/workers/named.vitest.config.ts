// The behaviour suites again, with every consumer connected as the client library's are with
// servedByChannel: its
// channel named in the /ws URL, so that the channel's object serves the session itself
// (src/v2/channel-session.ts). Same runtime and Worker as vitest.config.ts.
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { quietBenignRuntimeLines } from "../helpers/runtime-stdio.ts";

quietBenignRuntimeLines();

/** The suites whose consumers come from test/helpers/semantics.ts consumer(). */
const SUITES = [
  "admin", "bounded", "channel-guard", "channel-queue", "counters", "dead-letters", "deferred", "ephemeral", "fanout",
  "flow-control", "http-api", "peek", "replay", "shard-growth", "shards", "stats", "timeouts", "ttl", "v2-errors",
];

export default defineConfig({
  plugins: [
    cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: { AUTH: "off", TEST_CONSUMERS: "named" } } }),
  ],
  test: {
    include: SUITES.map((s) => `test/workers/${s}.test.ts`),
    testTimeout: 20_000,
  },
});
