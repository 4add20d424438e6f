// The README's own snippets, run as a reader would run them, against the service as a process
// (each file starts its own, so the README's names like `orders` mean what they say there).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/readme/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/readme/global-setup.ts"],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
