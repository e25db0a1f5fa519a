/**
 * The live state of a restore: the focus timer and the pet put back in the user's Durable Objects,
 * with the restored ids (ids.ts) for every task, step, session and pet they name — a task or step only
 * when it is the account's or this restore's (ownedIds: checked in D1, so a file cannot point the timer
 * at anyone else's task).
 */
import { sql } from "drizzle-orm";
import type { Database } from "../../../db";
import type { Env } from "../../../env";
import { loggableError } from "../../../lib/db-errors";
import type { LiveSection } from "../../export/format";
import type { LiveResult } from "../../export/live";
import type { IdMapper } from "./ids";

/** Every id the snapshots name, old → restored. */
export async function liveIds(live: LiveSection, mapper: IdMapper): Promise<Record<string, string>> {
  const timer = live.focus.timer;
  const named = [
    timer?.work?.session_id,
    timer?.work?.task_id,
    timer?.work?.step_id,
    timer?.break?.after_session_id,
    timer?.last_record?.session_id,
    timer?.last_record?.task_id,
    timer?.last_record?.step_id,
    live.pet.pet?.pet_id,
  ].filter((id): id is string => typeof id === "string");
  const ids: Record<string, string> = {};
  for (const id of named) ids[id] = await mapper.map(id);
  return ids;
}

/** Of `ids`, the tasks and steps held by the account or staged by this restore (one read). */
async function ownedOf(db: Database, owners: readonly string[], ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const list = JSON.stringify(ids);
  const who = JSON.stringify(owners);
  const rows = await db.all<{ id: string }>(
    sql`SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(${list})) AND user_id IN (SELECT value FROM json_each(${who}))
      UNION ALL
      SELECT id FROM micro_steps WHERE id IN (SELECT value FROM json_each(${list})) AND user_id IN (SELECT value FROM json_each(${who}))`,
  );
  return rows.map((r) => r.id);
}

/** Which objects a restore puts back (merge keeps the account's own pet and focus settings: M1). */
export interface LiveParts {
  pet: boolean;
  focus: boolean;
}

/** How one object's restore went: done, refused for good (a note), or failed for now (retried). */
export type PartOutcome =
  | { kind: "done" }
  | { kind: "noted"; note: string }
  | { kind: "failed"; error: string };

export interface LiveOutcome {
  pet: PartOutcome | null;
  focus: PartOutcome | null;
  /** The pet id the pet's object kept, when it restored one. */
  petId: string | null;
}

/**
 * Restores the objects chosen in `parts` (those not restored by an earlier delivery: job.ts records each
 * one done, so a retry never applies a snapshot again over what the person changed since), after the
 * rows moved in (review2 H2: a restore that fails or is discarded never changed them). A focus session
 * running on the account (409), or a snapshot an object refuses (422), is a note, never a failure: the
 * rows are the account's already. Any other answer, or an exception, is a failure for now (the delivery
 * is retried; job.ts gives up after the last retry, with a note).
 */
export async function restoreLive(
  env: Pick<Env, "FOCUS_TIMER" | "PET_STATE">,
  db: Database,
  userId: string,
  live: LiveSection,
  mapper: IdMapper,
  parts: LiveParts,
): Promise<LiveOutcome> {
  const ids = await liveIds(live, mapper);
  const ownedIds = await ownedOf(db, [userId], Object.values(ids));
  const settle = async <T>(
    what: string,
    run: () => Promise<LiveResult<T>>,
  ): Promise<{ outcome: PartOutcome; value: T | null }> => {
    try {
      const result = await run();
      if (result.ok) return { outcome: { kind: "done" }, value: result.value };
      if (result.error.status === 422 || result.error.status === 409)
        return {
          outcome: { kind: "noted", note: `The ${what} was not restored: ${result.error.detail}` },
          value: null,
        };
      return {
        outcome: { kind: "failed", error: `${result.error.code}: ${result.error.detail}` },
        value: null,
      };
    } catch (error) {
      return { outcome: { kind: "failed", error: loggableError(error) }, value: null };
    }
  };
  const [focus, pet] = await Promise.all([
    parts.focus
      ? settle("focus timer", () =>
          env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId)).restoreSnapshot(userId, live.focus, {
            ids,
            ownedIds,
          }),
        )
      : null,
    parts.pet
      ? settle("pet", () =>
          env.PET_STATE.get(env.PET_STATE.idFromName(userId)).restoreSnapshot(userId, live.pet, {
            ids,
            ownedIds,
          }),
        )
      : null,
  ]);
  return {
    focus: focus?.outcome ?? null,
    pet: pet?.outcome ?? null,
    petId: pet?.value?.pet_id ?? null,
  };
}
