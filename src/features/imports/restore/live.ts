/**
 * The live state of a restore: the focus timer and the pet put back in the user's Durable Objects,
 * with the restored ids (ids.ts) for every task, step, session and pet they name — a task or step only
 * when it is the account's or this restore's (ownedIds: checked in D1, so a file cannot point the timer
 * at anyone else's task).
 */
import { sql } from "drizzle-orm";
import type { Database } from "../../../db";
import type { Env } from "../../../env";
import type { LiveSection } from "../../export/format";
import { ImportFailure } from "../pipeline";
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

export interface LiveOutcome {
  notes: string[];
  /** The pet's id as its object kept it (null: no pet restored). */
  petId: string | null;
}

/**
 * Restores both objects. Either may be restored again safely (a retried delivery). A focus session
 * running on the account is not ended by a restore: the timer is left as it is and the reason noted.
 */
export async function restoreLive(
  env: Pick<Env, "FOCUS_TIMER" | "PET_STATE">,
  db: Database,
  owners: { userId: string; staging: string },
  live: LiveSection,
  mapper: IdMapper,
): Promise<LiveOutcome> {
  const ids = await liveIds(live, mapper);
  const ownedIds = await ownedOf(db, [owners.userId, owners.staging], Object.values(ids));
  const userId = owners.userId;
  const notes: string[] = [];
  const [focus, pet] = await Promise.all([
    env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId)).restoreSnapshot(userId, live.focus, {
      ids,
      ownedIds,
    }),
    env.PET_STATE.get(env.PET_STATE.idFromName(userId)).restoreSnapshot(userId, live.pet, { ids, ownedIds }),
  ]);
  for (const [what, result] of [
    ["focus timer", focus],
    ["pet", pet],
  ] as const) {
    if (result.ok) continue;
    if (result.error.status === 422) throw new ImportFailure(result.error.detail);
    if (result.error.status === 409) {
      notes.push(`The ${what} was not restored: ${result.error.detail}`);
      continue;
    }
    throw new Error(`${what} restore: ${result.error.code}: ${result.error.detail}`);
  }
  const petId = pet.ok && pet.value ? pet.value.pet_id : null;
  return { notes, petId };
}
