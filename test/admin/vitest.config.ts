// The admin UI (/admin) in headless Chromium against the service running as a process.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/admin/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
