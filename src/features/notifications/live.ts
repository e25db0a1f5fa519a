import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";
import { type NotificationRow, toNotificationDto } from "./queries";

/**
 * Sends new inbox notifications to the user's open sockets at once. The channel is the focus timer's
 * socket (`/api/v1/focus/ws`), the one an app keeps open while the person works: a message
 * `{"type":"notification","notification":{…}}`, outside the numbered state log. Best effort — the
 * inbox is the record, and a client that reconnects reads it.
 */
export async function sendLive(env: Env, rows: readonly NotificationRow[]): Promise<void> {
  const byUser = new Map<string, NotificationRow[]>();
  for (const row of rows) {
    if (row.status !== "delivered" || !row.inApp) continue;
    byUser.set(row.userId, [...(byUser.get(row.userId) ?? []), row]);
  }
  await Promise.all(
    [...byUser].map(async ([userId, mine]) => {
      try {
        const timer = env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId));
        await timer.notify(
          mine.map((row) => JSON.stringify({ type: "notification", notification: toNotificationDto(row) })),
        );
      } catch (error) {
        console.warn(
          JSON.stringify({ level: "warn", message: "live notification failed", error: loggableError(error) }),
        );
      }
    }),
  );
}
