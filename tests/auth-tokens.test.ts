import { describe, expect, it } from "vitest";
import { MAX_API_TOKENS_PER_USER } from "../src/features/auth/api-tokens";
import type { ApiTokenDto } from "../src/features/auth/schemas";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { createApiToken } from "./helpers/auth";

const createToken = (token: string, name: string) =>
  call("/api/v1/auth/tokens", { token, body: { name, scopes: ["tasks:read"] } });

const nextPath = (res: Response) => /^<([^>]+)>; rel="next"$/.exec(res.headers.get("link") ?? "")?.[1];

describe("listing API tokens", () => {
  it("pages the list by limit, newest first, with the next page in the Link header", async () => {
    const user = await createUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await createApiToken(user.token, { name: `token ${i}`, scopes: ["tasks:read"] });
      ids.push(created.id);
    }
    const seen: string[] = [];
    let path: string | undefined = "/api/v1/auth/tokens?limit=2";
    let pages = 0;
    while (path) {
      const res = await call(path, { token: user.token });
      expect(res.status).toBe(200);
      const page = await res.json<ApiTokenDto[]>();
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...page.map((t) => t.id));
      path = nextPath(res);
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it("answers 400 for a cursor that is not one of ours and 422 for a limit out of range", async () => {
    const user = await createUser();
    const badCursor = await call("/api/v1/auth/tokens?cursor=bm9wZQ", { token: user.token });
    expect(badCursor.status).toBe(400);
    expect((await problemOf(badCursor)).code).toBe("invalid_cursor");
    const badLimit = await call("/api/v1/auth/tokens?limit=1000", { token: user.token });
    expect(badLimit.status).toBe(422);
    await badLimit.body?.cancel();
  });
});

describe("the cap on API tokens", () => {
  it(`creates at most ${MAX_API_TOKENS_PER_USER} active tokens even when asked for more at once`, async () => {
    const user = await createUser();
    const answers = await Promise.all(
      Array.from({ length: MAX_API_TOKENS_PER_USER + 3 }, (_, i) => createToken(user.token, `t${i}`)),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_API_TOKENS_PER_USER);
    expect(statuses.filter((s) => s === 409)).toHaveLength(3);
    for (const res of answers) {
      if (res.status === 409) {
        const problem = await problemOf(res);
        expect(problem.code).toBe("too_many_tokens");
        expect(problem.detail).toContain(String(MAX_API_TOKENS_PER_USER));
      } else await res.body?.cancel();
    }
  });

  it("frees a place when a token is revoked", async () => {
    const user = await createUser();
    let last = "";
    for (let i = 0; i < MAX_API_TOKENS_PER_USER; i++) {
      last = (await createApiToken(user.token, { name: `t${i}`, scopes: ["tasks:read"] })).id;
    }
    const full = await createToken(user.token, "one too many");
    expect(full.status).toBe(409);
    await full.body?.cancel();
    await callJson(`/api/v1/auth/tokens/${last}`, 204, { method: "DELETE", token: user.token });
    const again = await createToken(user.token, "in the freed place");
    expect(again.status).toBe(201);
    await again.body?.cancel();
  });
});
