import { createDatabase, type Database } from "../db";
import type { Env } from "../env";
import { clearFile, discardExpiredImports } from "../features/imports/housekeeping";
import { ImportMessageSchema } from "../features/imports/messages";
import { failImport, ImportFailure, type RunOptions, runImport } from "../features/imports/pipeline";
import { runErase } from "../features/imports/restore/discarding";
import { giveUpFinishing, runRestore } from "../features/imports/restore/job";
import { SourceRefusal } from "../features/imports/sources/types";
import { sweepStaleImports } from "../features/imports/stale";
import { loggableError } from "../lib/db-errors";
import { publishEvents } from "../lib/events/queue";
import { type StatementMeter, unmetered } from "../lib/statement-meter";
import { retryDelaySeconds } from "./events-consumer";

/** wrangler.toml: max_retries of pap-imports; the last attempt marks the import failed before the DLQ. */
export const IMPORTS_MAX_RETRIES = 10;

function log(level: "info" | "error", message: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

/**
 * The imports queue consumer: each message goes on with one import from its cursor (runImport), and
 * sends the next message when there is more. A chunk that fails is retried with backoff (it resumes
 * where the last batch stopped); on the last attempt the import is marked failed with a plain sentence
 * and the message goes to the dead-letter queue (a restore past its commit point is not: lastAttempt).
 * The account is as it was then (nothing shows before a restore's commit point), and committing the
 * import again resumes it. A failure no retry can mend
 * (the file is gone) fails the import at once. Marking it failed is best effort (D1 may be what fails,
 * and a delivery killed over its CPU limit runs no catch at all): a job left queued or running is
 * picked up by the stale-job sweep (features/imports/stale.ts).
 */
export async function consumeImports(
  batch: MessageBatch<unknown>,
  env: Env,
  options: RunOptions = {},
): Promise<void> {
  const db = createDatabase(env.DB);
  for (const message of batch.messages) {
    const parsed = ImportMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log("error", "dropping a malformed import message", { id: message.id });
      message.ack();
      continue;
    }
    const body = parsed.data;
    try {
      const outcome =
        body.type === "import.erase"
          ? await runErase(db, env.FILES, body, options)
          : ((await runRestore(env, db, body, options)) ?? (await runImport(db, env.FILES, body, options)));
      if (outcome.kind === "more") await env.IMPORTS_QUEUE.send(body);
      if (outcome.kind === "done") {
        await publishEvents(env.EVENTS_QUEUE, outcome.events);
        await removeFile(db, env.FILES, body.import_id);
        log("info", "import completed", { import_id: body.import_id });
      }
      message.ack();
    } catch (error) {
      log("error", "import chunk failed", {
        import_id: body.import_id,
        attempt: message.attempts,
        error: loggableError(error),
      });
      // An erase message only ever erases (review4 L5): were it to fail the import, it would fail
      // whatever job holds the import now — one committed again and running. Its lost work is sent
      // again by housekeeping (a discarding row) or left to the discard or the new run (a failed one).
      const erasing = body.type === "import.erase";
      if (!erasing && (error instanceof ImportFailure || error instanceof SourceRefusal)) {
        await failImport(db, body.import_id, error.message).catch(() => undefined);
        message.ack();
        continue;
      }
      if (!erasing && message.attempts > IMPORTS_MAX_RETRIES)
        await lastAttempt(db, env, body.import_id, message.attempts);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

/**
 * The last attempt of a delivery that kept failing. Before a restore's commit point (and for any other
 * import) the job is failed: nothing of it shows and the account is as it was. Past the commit point
 * the restore only goes forward: one restoring its pet and focus timer is completed without the object
 * that kept failing, with a note (restore/job.ts giveUpFinishing); one still moving its rows is left
 * running, and the stale-job sweep sends its message again until the move is done.
 */
async function lastAttempt(db: Database, env: Env, importId: string, attempts: number) {
  try {
    if (await giveUpFinishing(db, importId, env)) return;
    await failImport(
      db,
      importId,
      `Writing the import kept failing (${attempts} attempts), so it stopped. Nothing of it shows ` +
        "yet and your account is as it was (a restore puts back the pet and focus settings only after everything " +
        "else is in); commit it again to resume where it stopped, or discard it.",
    );
  } catch {
    // Best effort: a job left running is picked up by the stale-job sweep.
  }
}

/** The upload of a completed import is deleted; housekeeping tries again if this fails. */
async function removeFile(db: Database, files: R2Bucket, importId: string) {
  try {
    await clearFile(db, files, importId);
  } catch (error) {
    log("error", "import file not deleted; housekeeping will", {
      import_id: importId,
      error: loggableError(error),
    });
  }
}

/**
 * Cron (every 5 minutes): expired previews and failed jobs discarded, completed jobs' files deleted,
 * and jobs that stopped moving sent their message again (or failed). Answers how many it looked at.
 * `meter`: the cron's share of statements, read through `env.DB` (lib/statement-meter.ts).
 */
export async function cleanUpImports(
  env: Env,
  now = Date.now(),
  meter: StatementMeter = unmetered,
): Promise<number> {
  const db = createDatabase(env.DB);
  // Both take rows from one share of the cron's statements (jobs/cron-budget.ts; review4 L4).
  const [discarded, stale] = await Promise.all([
    discardExpiredImports(db, env.FILES, env.IMPORTS_QUEUE, now, meter),
    sweepStaleImports(db, env.IMPORTS_QUEUE, now, env, meter),
  ]);
  return discarded + stale;
}
