import type { Env } from "../env";
import { loggableError } from "./db-errors";

/**
 * Closes (4001) the user's live sockets — focus and pet — opened with a credential that was just
 * revoked, so none of them gets another message. Called after the revocation is in D1; best effort:
 * should an object be unreachable, its sockets are still closed at their next action, which checks
 * the token again.
 */
export async function closeCredentialSockets(
  env: Pick<Env, "FOCUS_TIMER" | "PET_STATE">,
  userId: string,
  credentialId: string,
): Promise<void> {
  const objects = [
    env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId)),
    env.PET_STATE.get(env.PET_STATE.idFromName(userId)),
  ];
  const results = await Promise.allSettled(objects.map((o) => o.closeCredential(credentialId)));
  for (const result of results) {
    if (result.status === "rejected") {
      console.warn(
        JSON.stringify({
          level: "warn",
          message: "closing a revoked credential's sockets failed",
          error: loggableError(result.reason),
        }),
      );
    }
  }
}
