// Every README snippet is one a test runs: each `<!-- snippet: NAME -->` is read by the test file
// listed here (through readmeSnippet("NAME")), and each other code block in a language a reader
// would run says next to it why no test runs it ("not run by the tests: ...").
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { readmeSnippetNames } from "../helpers/readme";
import { root } from "./run";

/** Snippet name -> the test file that runs it. */
const RUN_BY: Record<string, string> = {
  "two-commands": "test/readme/two-commands.test.ts",
  curl: "test/readme/curl.test.ts",
  features: "test/readme/features.test.ts",
  "ws-consumer": "test/readme/ws-consumer.test.ts",
  bridge: "test/readme/bridge.test.ts",
  nsqjs: "test/readme/bridge.test.ts",
  cli: "test/readme/cli.test.ts",
  // The client library's section: its own suite runs them.
  "client-node": "test/client/package.test.ts",
  "client-browser": "test/client/browser.test.ts",
  "client-worker": "test/workers/readme-client-worker.test.ts", // as a module: import from "readme:client-worker"
};

/** Languages of blocks a reader runs (plain ``` blocks are diagrams and the layout map). */
const RUNNABLE = /^(sh|bash|js|ts|html|go|python|py)$/;

it("every snippet marker in README.md is run by the test listed for it", () => {
  const names = readmeSnippetNames();
  expect(new Set(names).size, "a name used twice").toBe(names.length);
  expect([...names].sort()).toEqual(Object.keys(RUN_BY).sort());
  for (const [name, file] of Object.entries(RUN_BY))
    expect(readFileSync(path.join(root, file), "utf8"), `${file} runs ${name}`).toMatch(new RegExp(`readmeSnippet\\("${name}"\\)|"readme:${name}"`));
});

it("every other runnable code block in README.md says why no test runs it", () => {
  const lines = readFileSync(path.join(root, "README.md"), "utf8").split("\n");
  const unexplained: string[] = [];
  let inBlock = false;
  for (const [i, line] of lines.entries()) {
    const fence = /^\s*```(\w*)/.exec(line);
    if (!fence) continue;
    if (inBlock) {
      inBlock = false;
      continue;
    }
    inBlock = true;
    if (!RUNNABLE.test(fence[1])) continue;
    // The marker right above it, or a note in the paragraph leading to it.
    const before = lines.slice(Math.max(0, i - 4), i).join("\n");
    if (/<!-- snippet: [\w-]+ -->\s*$/.test(before) || before.includes("not run by the tests")) continue;
    unexplained.push(`README.md:${i + 1}: ${line.trim()}`);
  }
  expect(unexplained).toEqual([]);
});
