import type { CreateApiTokenInput, CreatedApiTokenDto } from "../../src/features/auth/schemas";
import type { Scope } from "../../src/lib/auth/principal";
import { callJson, type TestUser } from "./api";

export type CreatedApiToken = CreatedApiTokenDto;

/** Creates an API token with this bearer (a user's session, or a token allowed to), expecting 201. */
export function createApiToken(bearer: string, body: CreateApiTokenInput): Promise<CreatedApiToken> {
  return callJson<CreatedApiToken>("/api/v1/auth/tokens", 201, { token: bearer, body });
}

/** A new API token of the user's with these scopes. */
export function apiTokenFor(
  user: TestUser,
  scopes: Scope[],
  expiresInDays?: number,
): Promise<CreatedApiToken> {
  return createApiToken(user.token, {
    name: "socket",
    scopes,
    ...(expiresInDays ? { expires_in_days: expiresInDays } : {}),
  });
}

/** The user acting through a new API token of theirs, which (unlike a JWT) outlives a clock a test moves. */
export async function actingThroughApiToken(
  user: TestUser,
  name: string,
  scopes: Scope[],
): Promise<TestUser> {
  const { token } = await createApiToken(user.token, { name, scopes });
  return { ...user, token };
}

/** Revokes one of the user's API tokens as its owner would. */
export function revokeApiTokenOf(user: TestUser, tokenId: string): Promise<void> {
  return callJson<void>(`/api/v1/auth/tokens/${tokenId}`, 204, { method: "DELETE", token: user.token });
}
