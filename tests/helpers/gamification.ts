import { env } from "cloudflare:workers";
import type { AuthResponseDto } from "../../src/features/auth/schemas";
import type { ProfileDto } from "../../src/features/gamification/schemas";
import { callJson, createUser, type TestUser } from "./api";
import { createApiToken } from "./auth";

export type Profile = ProfileDto;

export const profileOf = (user: TestUser) =>
  callJson<Profile>("/api/v1/gamification/me", 200, { token: user.token });

export async function ledgerOf(user: TestUser) {
  const { results } = await env.DB.prepare(
    "SELECT source, source_key, amount FROM xp_ledger WHERE user_id = ? ORDER BY id",
  )
    .bind(user.id)
    .all<{ source: string; source_key: string; amount: number }>();
  return results;
}

/** An administrator (ADMIN_EMAILS in the test bindings) with an admin-scoped API token. */
export async function adminToken(): Promise<string> {
  let admin: TestUser;
  try {
    admin = await createUser({ email: "admin@example.com" });
  } catch {
    const login = await callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
      body: { email: "admin@example.com", password: "correct horse battery" },
    });
    admin = { id: "", email: "admin@example.com", password: "", token: login.access_token, refreshToken: "" };
  }
  const { token } = await createApiToken(admin.token, { name: "ops", scopes: ["admin"] });
  return token;
}
