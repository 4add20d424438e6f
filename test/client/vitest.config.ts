// Tests of the client library (@nsq-edge/client) against the service running as a process,
// in Node, in headless Chromium (browser.test.ts) and as a package (package.test.ts).
// "@nsq-edge/client" resolves by name, as users get it: the npm workspace links
// node_modules/@nsq-edge/client to client/, whose "exports" point at the build in client/dist
// (`npm run build:client`). No alias: a broken package.json would fail these tests.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/client/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/client/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
