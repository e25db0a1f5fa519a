import type { Env } from "../env";
import { continueOrphanSweep } from "../features/export/cleanup";
import { failExport, runSlice, type SliceOptions } from "../features/export/job";
import { ExportMessageSchema, sliceMessage } from "../features/export/messages";
import { loggableError } from "../lib/db-errors";
import { retryDelaySeconds } from "./events-consumer";

/** wrangler.toml: max_retries of pap-exports; the last attempt marks the export failed before the DLQ. */
export const EXPORTS_MAX_RETRIES = 10;
/** A message that came before its slice's turn waits this long. */
const EARLY_RETRY_SECONDS = 10;

function log(level: "info" | "error", message: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

/**
 * The exports queue consumer: each message runs one slice of one export (features/export/job.ts) and,
 * when the slice stops at its budget, enqueues the next. A slice that fails is retried with backoff
 * and resumes from the job's saved cursor; after the last retry the export is marked failed (its
 * partial upload aborted) and the message goes to the dead letters. A message of the nightly orphan
 * sweep lists its next pages and hands the rest on; a failed one is retried from the same cursor.
 */
export async function consumeExports(
  batch: MessageBatch<unknown>,
  env: Env,
  options: SliceOptions = {},
): Promise<void> {
  for (const message of batch.messages) {
    const parsed = ExportMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log("error", "dropping a malformed export message", { id: message.id });
      message.ack();
      continue;
    }
    if (parsed.data.type === "export.orphan-sweep") {
      try {
        const swept = await continueOrphanSweep(env, { cursor: parsed.data.cursor });
        log("info", "orphan export sweep", {
          listed: swept.listed,
          deleted: swept.deleted,
          more: swept.more,
        });
        message.ack();
      } catch (error) {
        log("error", "orphan export sweep failed", {
          attempts: message.attempts,
          error: loggableError(error),
        });
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
      continue;
    }
    const { export_id: exportId, slice } = parsed.data;
    try {
      const outcome = await runSlice(env, exportId, slice, options);
      log("info", "export slice", { export_id: exportId, slice, outcome: outcome.kind });
      if (outcome.kind === "paused") {
        await env.EXPORTS_QUEUE.send(sliceMessage(exportId, outcome.nextSlice));
        message.ack();
      } else if (outcome.kind === "busy") {
        message.retry({ delaySeconds: outcome.retryAfterSeconds });
      } else if (outcome.kind === "early") {
        message.retry({ delaySeconds: EARLY_RETRY_SECONDS });
      } else {
        message.ack();
      }
    } catch (error) {
      log("error", "export slice failed", {
        export_id: exportId,
        slice,
        attempts: message.attempts,
        error: loggableError(error),
      });
      if (message.attempts > EXPORTS_MAX_RETRIES) {
        await failExport(env, exportId, "The export failed several times in a row; start a new one.").catch(
          () => undefined,
        );
      }
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
