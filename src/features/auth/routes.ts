import { createRoute } from "@hono/zod-openapi";
import { isAdmin } from "../../lib/auth/admin";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { forbidden } from "../../lib/errors";
import { closeCredentialSockets } from "../../lib/live-socket-close";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { PaginationQuerySchema, pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { clientAddress } from "../../middleware/rate-limit";
import { movePetToTimezone } from "../pets/service";
import { createApiToken, listApiTokens, MAX_API_TOKENS_PER_USER, revokeApiToken } from "./api-tokens";
import {
  ApiTokenSchema,
  AuthResponseSchema,
  CreateApiTokenBodySchema,
  CreatedApiTokenSchema,
  LoginBodySchema,
  LogoutBodySchema,
  RefreshBodySchema,
  RegisterBodySchema,
  TokenIdParamsSchema,
  UpdateMeBodySchema,
  UserSchema,
} from "./schemas";
import * as auth from "./service";
import { logout as endSession, refreshSession } from "./sessions";

const tags = ["Auth"];

export const register = createRoute({
  method: "post",
  path: "/register",
  tags,
  summary: "Create an account and sign in",
  request: { body: jsonBody(RegisterBodySchema) },
  responses: {
    201: jsonResponse(AuthResponseSchema, "Account created; tokens issued"),
    ...errorResponses(400, 409, 413, 422),
  },
});

export const login = createRoute({
  method: "post",
  path: "/login",
  tags,
  summary: "Sign in with email and password",
  request: { body: jsonBody(LoginBodySchema) },
  responses: {
    200: jsonResponse(AuthResponseSchema, "Signed in"),
    ...errorResponses(400, 401, 413, 422, 429),
  },
});

export const refresh = createRoute({
  method: "post",
  path: "/refresh",
  tags,
  summary: "Exchange a refresh token for new tokens (the old one stops working)",
  request: { body: jsonBody(RefreshBodySchema) },
  responses: {
    200: jsonResponse(AuthResponseSchema, "New tokens"),
    ...errorResponses(400, 401, 413, 422),
  },
});

export const logout = createRoute({
  method: "post",
  path: "/logout",
  tags,
  summary: "End this session (or another one, or all of them)",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true, countsAsWrite: false })] as const,
  request: {
    body: { required: false, content: { "application/json": { schema: LogoutBodySchema } } },
  },
  responses: { 204: { description: "Signed out" }, ...errorResponses(400, 401, 403, 413, 422) },
});

export const me = createRoute({
  method: "get",
  path: "/me",
  tags,
  summary: "The signed-in user",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ scope: "profile:read" })] as const,
  responses: { 200: jsonResponse(UserSchema, "The user"), ...errorResponses(401, 403) },
});

export const updateMe = createRoute({
  method: "patch",
  path: "/me",
  tags,
  summary: "Change display name or time zone",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true })] as const,
  request: { body: jsonBody(UpdateMeBodySchema) },
  responses: {
    200: jsonResponse(UserSchema, "The updated user"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

export const createToken = createRoute({
  method: "post",
  path: "/tokens",
  tags,
  summary: "Create a personal API token (shown once)",
  description: `At most ${MAX_API_TOKENS_PER_USER} active tokens per account: past that, 409 \`too_many_tokens\`.`,
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true })] as const,
  request: { body: jsonBody(CreateApiTokenBodySchema) },
  responses: {
    201: jsonResponse(CreatedApiTokenSchema, "The token, with its secret"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const listTokens = createRoute({
  method: "get",
  path: "/tokens",
  tags,
  summary: "List active API tokens (never their secrets)",
  description: 'Newest first. The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true })] as const,
  request: { query: PaginationQuerySchema },
  responses: {
    200: pageResponse(ApiTokenSchema, "A page of active tokens"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const deleteToken = createRoute({
  method: "delete",
  path: "/tokens/{token_id}",
  tags,
  summary: "Revoke an API token",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true, countsAsWrite: false })] as const,
  request: { params: TokenIdParamsSchema },
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
});

const registerHandler: AppRouteHandler<typeof register> = async (c) =>
  c.json(await auth.registerUser(c.var.db, c.env, c.req.valid("json")), 201);

const loginHandler: AppRouteHandler<typeof login> = async (c) => {
  const address = clientAddress(c);
  return c.json(await auth.loginUser(c.var.db, c.env, c.req.valid("json"), address), 200);
};

const refreshHandler: AppRouteHandler<typeof refresh> = async (c) =>
  c.json(await refreshSession(c.var.db, c.env, c.req.valid("json").refresh_token), 200);

const logoutHandler: AppRouteHandler<typeof logout> = async (c) => {
  const { userId, credentialId } = c.var.principal;
  const ended = await endSession(c.var.db, userId, credentialId, c.req.valid("json"));
  // The logins that ended take their live sockets with them.
  await Promise.all(ended.map((familyId) => closeCredentialSockets(c.env, userId, familyId)));
  return c.body(null, 204);
};

const meHandler: AppRouteHandler<typeof me> = async (c) =>
  c.json(auth.toUserDto(await auth.getUser(c.var.db, c.var.principal.userId)), 200);

const updateMeHandler: AppRouteHandler<typeof updateMe> = async (c) => {
  const input = c.req.valid("json");
  const user = await auth.updateUser(c.var.db, c.var.principal.userId, input);
  // The pet's nights follow the user's local hours.
  if (input.timezone !== undefined) await movePetToTimezone(c.env, user.id, user.timezone);
  return c.json(auth.toUserDto(user), 200);
};

const createTokenHandler: AppRouteHandler<typeof createToken> = async (c) => {
  const input = c.req.valid("json");
  if (input.scopes.includes("admin") && !(await isAdmin(c.var.db, c.env, c.var.principal.userId))) {
    throw forbidden("Only administrators can create tokens with the admin scope.");
  }
  return c.json(await createApiToken(c.var.db, c.var.principal.userId, input), 201);
};

const listTokensHandler: AppRouteHandler<typeof listTokens> = async (c) => {
  const query = c.req.valid("query");
  const page = await listApiTokens(c.var.db, c.var.principal.userId, query, pageAfter(query.cursor));
  return c.json(withNextLink(c, page), 200);
};

const deleteTokenHandler: AppRouteHandler<typeof deleteToken> = async (c) => {
  const { userId } = c.var.principal;
  const tokenId = c.req.valid("param").token_id;
  await revokeApiToken(c.var.db, userId, tokenId);
  await closeCredentialSockets(c.env, userId, tokenId);
  return c.body(null, 204);
};

export const authRouter = createRouter()
  .openapi(register, registerHandler)
  .openapi(login, loginHandler)
  .openapi(refresh, refreshHandler)
  .openapi(logout, logoutHandler)
  .openapi(me, meHandler)
  .openapi(updateMe, updateMeHandler)
  .openapi(createToken, createTokenHandler)
  .openapi(listTokens, listTokensHandler)
  .openapi(deleteToken, deleteTokenHandler);
