import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { PaginationQuerySchema, pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { clientAddress } from "../../middleware/rate-limit";
import { listApiTokens, MAX_API_TOKENS_PER_USER } from "./api-tokens";
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
import { refreshSession } from "./sessions";

const tags = ["Auth"];

export const register = createRoute({
  method: "post",
  path: "/register",
  tags,
  summary: "Create an account and sign in",
  description:
    "`username` (optional) is unique whatever its letter case: a taken one is 409 `username_taken`, a taken " +
    "email 409 `email_taken`. `full_name` is the original API's name for `display_name`.",
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
  summary: "Sign in with email or username, and password",
  description:
    "Send `email` or `username` (one of them). Failed attempts count per account whichever you send, and " +
    "per address: past the limit, 429 with Retry-After.",
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
  summary: "Change display name, username or time zone",
  description: "A username someone else has (in any letter case) is 409 `username_taken`.",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true })] as const,
  request: { body: jsonBody(UpdateMeBodySchema) },
  responses: {
    200: jsonResponse(UserSchema, "The updated user"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
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
  await auth.logOut(c.var.db, c.env, c.var.principal, c.req.valid("json"));
  return c.body(null, 204);
};

const meHandler: AppRouteHandler<typeof me> = async (c) =>
  c.json(auth.toUserDto(await auth.getUser(c.var.db, c.var.principal.userId)), 200);

const updateMeHandler: AppRouteHandler<typeof updateMe> = async (c) => {
  const user = await auth.updateProfile(c.var.db, c.env, c.var.principal.userId, c.req.valid("json"));
  return c.json(auth.toUserDto(user), 200);
};

const createTokenHandler: AppRouteHandler<typeof createToken> = async (c) => {
  return c.json(await auth.issueApiToken(c.var.db, c.env, c.var.principal.userId, c.req.valid("json")), 201);
};

const listTokensHandler: AppRouteHandler<typeof listTokens> = async (c) => {
  const query = c.req.valid("query");
  const page = await listApiTokens(c.var.db, c.var.principal.userId, query, pageAfter(query.cursor));
  return c.json(withNextLink(c, page), 200);
};

const deleteTokenHandler: AppRouteHandler<typeof deleteToken> = async (c) => {
  await auth.withdrawApiToken(c.var.db, c.env, c.var.principal.userId, c.req.valid("param").token_id);
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
