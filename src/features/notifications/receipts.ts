import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { notificationPushes, pushDevices } from "../../db/schema";
import type { Env } from "../../env";
import { fetchExpoReceipts } from "../../lib/push/expo";
import { nowIso } from "../../lib/time";
import { pushConfig } from "./push-config";

export interface TicketRef {
  notification_id: string;
  target_id: string;
  ticket_id: string;
}

/**
 * Reads Expo's receipts for these tickets: a device Expo calls `DeviceNotRegistered` is removed, an
 * error is recorded on its push, a receipt not ready yet is asked for on a later sweep. Throws when
 * Expo could not be asked (the message is retried).
 */
export async function checkExpoReceipts(env: Env, db: Database, tickets: readonly TicketRef[], now: number) {
  const config = await pushConfig(env);
  const outcomes = await fetchExpoReceipts(
    tickets.map((t) => t.ticket_id),
    { baseUrl: config.expoUrl, accessToken: config.expoAccessToken, timeoutMs: config.timeoutMs },
  );
  const at = nowIso(now);
  const statements: BatchItem<"sqlite">[] = [];
  let failed = 0;
  for (const ticket of tickets) {
    const outcome = outcomes.get(ticket.ticket_id);
    if (!outcome || outcome.kind === "pending") continue;
    if (outcome.kind === "retry") {
      failed += 1;
      continue;
    }
    const where = and(
      eq(notificationPushes.notificationId, ticket.notification_id),
      eq(notificationPushes.targetId, ticket.target_id),
    );
    if (outcome.kind === "ok") {
      statements.push(db.update(notificationPushes).set({ receiptCheckedAt: at }).where(where));
      continue;
    }
    statements.push(
      db
        .update(notificationPushes)
        .set({
          receiptCheckedAt: at,
          status: outcome.kind === "device_not_registered" ? "gone" : "failed",
          detail: outcome.detail,
        })
        .where(where),
    );
    if (outcome.kind === "device_not_registered") {
      statements.push(db.delete(pushDevices).where(eq(pushDevices.id, ticket.target_id)));
    }
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  if (failed > 0) throw new Error(`Expo receipts could not be read for ${failed} tickets`);
}
