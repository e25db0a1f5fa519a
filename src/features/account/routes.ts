import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { clientAddress, perAddress } from "../../middleware/rate-limit";
import { DeleteAccountBodySchema } from "./schemas";
import { deleteAccount } from "./service";

export const deleteMe = createRoute({
  method: "delete",
  path: "/me",
  tags: ["Auth"],
  summary: "Delete the account and everything in it (cannot be undone)",
  description:
    "Needs a login session (403 for API and agent tokens) and the account's password (403 " +
    "`invalid_password` when wrong; failures count toward the same lock as failed logins, 429 with " +
    "Retry-After). Erases every row of the account, its live timer and pet, its leaderboard scores and " +
    "its files, and ends every login, API token and open socket (closed with 4003). 503 with " +
    "Retry-After when it could not finish: the account then still exists, and asking again is safe.",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true }), perAddress("AUTH_LIMITER")] as const,
  request: { body: jsonBody(DeleteAccountBodySchema) },
  responses: {
    204: { description: "Deleted: every token of the account is refused from now on" },
    ...errorResponses(400, 401, 403, 413, 422, 429, 503),
  },
});

const deleteMeHandler: AppRouteHandler<typeof deleteMe> = async (c) => {
  const { password } = c.req.valid("json");
  await deleteAccount(c.var.db, c.env, c.var.principal.userId, password, clientAddress(c));
  return c.body(null, 204);
};

/** Mounted beside the auth routes: `DELETE /api/v1/auth/me`. */
export const accountRouter = createRouter().openapi(deleteMe, deleteMeHandler);
