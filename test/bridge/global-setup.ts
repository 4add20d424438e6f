// Builds the nsq-edge command once (so the processes the tests start never race to build it)
// and starts one service shared by the test files (restart.test.ts starts its own, to kill it).
import type { TestProject } from "vitest/node";
import { Service } from "../e2e/service";
// @ts-expect-error: a plain .mjs script without types
import { build } from "../../scripts/build-cli.mjs";

// (serviceUrl is declared in ../helpers/service.ts, where the tests read it.)

export default async function setup(project: TestProject) {
  await build();
  const svc = await Service.create();
  project.provide("serviceUrl", svc.url);
  return async () => {
    await svc.stop();
  };
}
