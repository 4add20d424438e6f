// README "Two commands": `npm start` as the block says, on the port and data directory the
// README's options name ($NSQ_EDGE_PORT, $NSQ_EDGE_DATA: a free port and a fresh directory).
// `npm install` and `npm test` are what CI itself runs (.ci/run: npm ci, then npm test).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { freePort } from "../e2e/service";
import { readmeSnippet } from "../helpers/readme";
import { Run, commands, root } from "./run";

it("two-commands: npm start serves the service; npm install and npm test are CI's", async () => {
  const lines = commands(readmeSnippet("two-commands"));
  expect(lines).toEqual(["npm install && npm start", "npm test"]);
  expect(readFileSync(path.join(root, ".ci", "run"), "utf8")).toMatch(/^npm ci [^\n]*\n[\s\S]*^npm test /m);
  const port = await freePort();
  const data = mkdtempSync(path.join(tmpdir(), "nsq-edge-readme-"));
  const start = Run.sh(`exec ${lines[0].replace("npm install && ", "")}`, { env: { NSQ_EDGE_PORT: String(port), NSQ_EDGE_DATA: data } });
  try {
    await start.waitFor(new RegExp(`listening on http://127\\.0\\.0\\.1:${port}\\b`), 60_000);
    expect(await (await fetch(`http://127.0.0.1:${port}/pub?topic=orders`, { method: "POST", body: "hello" })).text()).toBe("OK");
  } finally {
    await start.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
