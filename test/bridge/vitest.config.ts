// The bridge and the nsq-edge command: the service and `nsq-edge bridge` run as processes
// (bin/nsq-edge.mjs, as users run it), driven by nsqjs, the NSQ Node client from npm, unmodified.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/bridge/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/bridge/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
