// Unit and Durable Object tests, run inside workerd.
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";

export default defineConfig({
  plugins: [
    cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } }),
  ],
  test: {
    include: ["test/workers/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
