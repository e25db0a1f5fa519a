import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { openSession } from "../../middleware/database";
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
    "its files, and ends every login, API token and open socket (closed with 4003). Once the password " +
    "is confirmed the account is closed at once: every token is refused and signing in fails. 202 when " +
    "the account is so big that the rest is erased in the background (within minutes). 503 " +
    "`deletion_unavailable` (Retry-After): it could not begin, the account still exists, ask again. " +
    "503 `deletion_incomplete` (Retry-After): it began but could not finish; the account stays closed " +
    "and is erased by itself within minutes (nothing to send again).",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true }), perAddress("AUTH_LIMITER")] as const,
  request: { body: jsonBody(DeleteAccountBodySchema) },
  responses: {
    202: { description: "Closed, and the rest of a very big account is being erased in the background" },
    204: { description: "Deleted: every token of the account is refused from now on" },
    ...errorResponses(400, 401, 403, 413, 422, 429, 503),
  },
});

const deleteMeHandler: AppRouteHandler<typeof deleteMe> = async (c) => {
  const { password } = c.req.valid("json");
  const { userId } = c.var.principal;
  const erasingOn = openSession(c, "first-primary");
  const outcome = await deleteAccount(c.var.db, c.env, userId, password, clientAddress(c), erasingOn);
  return c.body(null, outcome === "deleted" ? 204 : 202);
};

/** Mounted beside the auth routes: `DELETE /api/v1/auth/me`. */
export const accountRouter = createRouter().openapi(deleteMe, deleteMeHandler);
