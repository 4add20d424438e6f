// Unit and Durable Object tests, run inside workerd.
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { readmeSnippets } from "./readme-plugin.ts";
import { quietBenignRuntimeLines } from "../helpers/runtime-stdio.ts";

quietBenignRuntimeLines();

export default defineConfig({
  plugins: [
    // Auth off, as `npm start` runs without it; the auth tests give the Worker an env of their own.
    cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: { AUTH: "off" } } }),
    readmeSnippets(), // import from "readme:NAME": the README's snippet NAME
  ],
  test: {
    include: ["test/workers/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
