import { describe, expect, it } from "vitest";
import { call, createUser } from "./helpers/api";
import { openApiDocument } from "./helpers/openapi";

/**
 * Every response of the suite is checked against /openapi.json by tests/helpers/api.ts. These tests
 * add the answers ordinary tests rarely ask for: every id route with ids that are not ids.
 */

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
// Too long, a path-looking string, a space, a unicode letter: none is anybody's id.
const MALFORMED_IDS = ["x".repeat(300), "..%2F..%2Fetc", "not%20an%20id", "%C3%A9t%C3%A9"];

describe("the OpenAPI document", () => {
  it("documents what every id route answers to malformed ids, and none of them is a 5xx", async () => {
    const user = await createUser();
    const doc = await openApiDocument();
    const idRoutes = Object.entries(doc.paths).flatMap(([path, operations]) =>
      METHODS.filter((m) => operations[m] && path.includes("{") && !path.endsWith("/ws")).map((m) => ({
        method: m.toUpperCase(),
        path,
      })),
    );
    expect(idRoutes.length).toBeGreaterThan(40);
    for (const { method, path } of idRoutes) {
      for (const id of MALFORMED_IDS) {
        const concrete = path.replace(/\{[^}]+\}/g, id);
        // call() fails the test when the status is not documented or the body does not match.
        const res = await call(concrete, {
          method,
          token: user.token,
          ...(method === "GET" || method === "DELETE" ? {} : { body: {} }),
        });
        expect(res.status, `${method} ${concrete}`).toBeLessThan(500);
        await res.body?.cancel();
      }
    }
  });
});
