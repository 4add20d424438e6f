// One service process shared by the client tests (reconnect.test.ts starts its own, to kill it).
import type { TestProject } from "vitest/node";
import { Service } from "../e2e/service";

// (serviceUrl is declared in ../helpers/service.ts, where the tests read it.)

export default async function setup(project: TestProject) {
  const svc = await Service.create();
  project.provide("serviceUrl", svc.url);
  return async () => {
    await svc.stop();
  };
}
