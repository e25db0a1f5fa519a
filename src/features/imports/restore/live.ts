/**
 * The live state of a restore: the focus timer and the pet put back in the user's Durable Objects,
 * with the restored ids (ids.ts) for every task, step, session and pet they name.
 */
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

/**
 * Restores both objects. Either may be restored again safely (a retried delivery). A focus session
 * running on the account is not ended by a restore: the timer is left as it is and the reason noted.
 */
export async function restoreLive(
  env: Pick<Env, "FOCUS_TIMER" | "PET_STATE">,
  userId: string,
  live: LiveSection,
  mapper: IdMapper,
): Promise<string[]> {
  const ids = await liveIds(live, mapper);
  const notes: string[] = [];
  const [focus, pet] = await Promise.all([
    env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId)).restoreSnapshot(userId, live.focus, { ids }),
    env.PET_STATE.get(env.PET_STATE.idFromName(userId)).restoreSnapshot(userId, live.pet, { ids }),
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
  return notes;
}
