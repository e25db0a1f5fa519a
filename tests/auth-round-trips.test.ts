import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createUser } from "./helpers/api";
import { tripsFor } from "./helpers/counting-d1";

/** A POST counted in D1 round trips. */
const tripsOfPost = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  tripsFor(path, { method: "POST", body: JSON.stringify(body), headers });

const address = { "cf-connecting-ip": "192.0.2.200" };

describe("D1 round trips of sign-in and credentials", () => {
  it("refuses a wrong password in one round trip (the attempt is counted before it is checked)", async () => {
    const user = await createUser();
    const login = { email: user.email, password: "not the password" };
    expect(await tripsOfPost("/api/v1/auth/login", login, address)).toEqual({ status: 401, trips: 1 });
  });

  it("signs in with the right password in two round trips", async () => {
    const user = await createUser();
    const login = { email: user.email, password: user.password };
    expect(await tripsOfPost("/api/v1/auth/login", login, address)).toEqual({ status: 200, trips: 2 });
  });

  it("signs in by username in three: the username's one indexed read, then the login's two", async () => {
    const user = await createUser();
    const username = `trips_${crypto.randomUUID().slice(0, 8)}`;
    await env.DB.prepare("UPDATE users SET username = ?, username_key = ? WHERE id = ?")
      .bind(username, username, user.id)
      .run();
    const login = { username, password: user.password };
    expect(await tripsOfPost("/api/v1/auth/login", login, address)).toEqual({ status: 200, trips: 3 });
  });

  it("refreshes in two round trips", async () => {
    const user = await createUser();
    const body = { refresh_token: user.refreshToken };
    expect(await tripsOfPost("/api/v1/auth/refresh", body)).toEqual({ status: 200, trips: 2 });
  });

  it("creates an API token in two round trips: the login's liveness, then the capped insert", async () => {
    const user = await createUser();
    const body = { name: "script", scopes: ["tasks:read"] };
    const auth = { authorization: `Bearer ${user.token}` };
    expect(await tripsOfPost("/api/v1/auth/tokens", body, auth)).toEqual({ status: 201, trips: 2 });
  });
});
