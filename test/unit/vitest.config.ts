// Unit tests of the pure modules, beside them (src/**/*.test.ts): plain Node, no workerd, fast.
// Domain modules take their clock, randomness and storage as arguments, so these tests pass a
// fake clock instead of waiting.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
