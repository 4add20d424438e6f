// Types of the README snippets imported as modules through readme-plugin.ts ("readme:NAME").
declare module "readme:client-worker" {
  import type { DurableObject } from "cloudflare:workers";
  import type { Consumer } from "@nsq-edge/client";
  type SnippetEnv = { NSQ: { fetch(url: string, init?: RequestInit): Promise<Response> } };
  const worker: { fetch(req: Request, env: SnippetEnv): Promise<Response> };
  export default worker;
  export class Billing extends DurableObject<SnippetEnv> {
    consumer: Consumer;
  }
}
