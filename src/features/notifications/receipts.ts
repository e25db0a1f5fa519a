import { inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { pushDevices } from "../../db/schema";
import type { Env } from "../../env";
import { rawStatement } from "../../lib/batch";
import { chunkList } from "../../lib/chunk";
import { fetchExpoReceipts } from "../../lib/push/expo";
import { nowIso } from "../../lib/time";
import { pushConfig } from "./push-config";

export interface TicketRef {
  notification_id: string;
  target_id: string;
  ticket_id: string;
}

interface Checked {
  ticket: TicketRef;
  status: "sent" | "gone" | "failed";
  detail: string | null;
}

/**
 * Reads Expo's receipts for these tickets: a device Expo calls `DeviceNotRegistered` is removed, an
 * error is recorded on its push, a receipt not ready yet is asked for on a later sweep. Written set by
 * set (a delivery of ten receipts messages stays far under D1's statements per invocation). Throws
 * when Expo could not be asked (the message is retried).
 */
export async function checkExpoReceipts(env: Env, db: Database, tickets: readonly TicketRef[], now: number) {
  const config = await pushConfig(env);
  const outcomes = await fetchExpoReceipts(
    tickets.map((t) => t.ticket_id),
    { baseUrl: config.expoUrl, accessToken: config.expoAccessToken, timeoutMs: config.timeoutMs },
  );
  const checked: Checked[] = [];
  let failed = 0;
  for (const ticket of tickets) {
    const outcome = outcomes.get(ticket.ticket_id);
    if (!outcome || outcome.kind === "pending") continue;
    if (outcome.kind === "retry") failed += 1;
    else if (outcome.kind === "ok") checked.push({ ticket, status: "sent", detail: null });
    else
      checked.push({
        ticket,
        status: outcome.kind === "device_not_registered" ? "gone" : "failed",
        detail: outcome.detail,
      });
  }
  const at = nowIso(now);
  // 4 values a ticket and the time: 24 tickets a statement, under D1's 100 bound parameters.
  const statements: BatchItem<"sqlite">[] = chunkList(checked, 24).map((chunk) =>
    rawStatement(
      db,
      sql`UPDATE notification_pushes SET receipt_checked_at = ${at}, status = v.column3,
        detail = COALESCE(v.column4, notification_pushes.detail)
        FROM (VALUES ${sql.join(
          chunk.map(
            (c) => sql`(${c.ticket.notification_id}, ${c.ticket.target_id}, ${c.status}, ${c.detail})`,
          ),
          sql`, `,
        )}) AS v
        WHERE notification_pushes.notification_id = v.column1 AND notification_pushes.target_id = v.column2`,
    ),
  );
  const gone = checked.filter((c) => c.status === "gone").map((c) => c.ticket.target_id);
  for (const chunk of chunkList(gone, 90)) {
    statements.push(db.delete(pushDevices).where(inArray(pushDevices.id, chunk)));
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  if (failed > 0) throw new Error(`Expo receipts could not be read for ${failed} tickets`);
}
