// Every method workerd's HTTP parser lets through to the Worker, routed as nsqd's router routes a
// method it has no route for: 405 with Allow on a known path, 404 elsewhere. Methods the parser
// does not know (FOO, lowercase get, CONNECT) never reach the Worker; locally
// scripts/http-front.mjs passes them on as MKACTIVITY (test/e2e/http-malformed.test.ts).
import { describe, expect, it } from "vitest";
import { http } from "../helpers/workers";

// kj-http's list (kj/compat/http.h) less GET, HEAD, POST and OPTIONS, which have tests of their own.
const METHODS = "PUT DELETE PATCH PURGE TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH UNLOCK ACL REPORT MKACTIVITY CHECKOUT MERGE MSEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE".split(" ");

describe("methods without a route", () => {
  for (const method of METHODS) {
    it(`${method}: 405 METHOD_NOT_ALLOWED with Allow on /pub and /stats, 404 NOT_FOUND on an unknown path`, async () => {
      const pub = await http("/pub?topic=x", { method });
      expect(pub.status).toBe(405);
      expect(pub.headers.get("allow")).toBe("OPTIONS, POST");
      expect(pub.headers.get("x-nsq-content-type")).toBe("nsq; version=1.0");
      expect(await pub.json()).toEqual({ message: "METHOD_NOT_ALLOWED" });
      const stats = await http("/stats", { method });
      expect(stats.status).toBe(405);
      expect(stats.headers.get("allow")).toBe("GET, OPTIONS");
      await stats.arrayBuffer();
      const none = await http("/nope", { method });
      expect(none.status).toBe(404);
      expect(await none.json()).toEqual({ message: "NOT_FOUND" });
    });
  }
});
