// A Vite plugin for the workers tests: `import ... from "readme:NAME"` is the README snippet NAME
// as a module (its TypeScript types stripped by esbuild), so a test runs the README's own text
// inside workerd, where code cannot be evaluated from a string at run time.
import { transform } from "esbuild";
import type { Plugin } from "vite";
import { readmeSnippet } from "../helpers/readme.ts";

const PREFIX = "readme:";

export function readmeSnippets(): Plugin {
  return {
    name: "readme-snippets",
    resolveId(id) {
      if (id.startsWith(PREFIX)) return `\0${id}`;
    },
    async load(id) {
      if (!id.startsWith(`\0${PREFIX}`)) return;
      // Vite's own TypeScript transform skips virtual modules: strip the types here.
      const { code } = await transform(readmeSnippet(id.slice(PREFIX.length + 1)), { loader: "ts", format: "esm" });
      return code;
    },
  };
}
