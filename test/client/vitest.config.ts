// Tests of the client library (nsq-edge/client) against the service running as a process,
// in Node, in headless Chromium (browser.test.ts) and as a package (package.test.ts).
// "nsq-edge/client" is the built library (dist/client, `npm run build:client`), as users get it.
import path from "node:path";
import { defineConfig } from "vitest/config";

const root = path.resolve(import.meta.dirname, "..", "..");

export default defineConfig({
  resolve: {
    alias: { "nsq-edge/client": path.join(root, "dist", "client", "index.js") },
  },
  test: {
    include: ["test/client/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/client/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
