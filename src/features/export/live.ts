/**
 * The live state of the Durable Objects in the export: snapshots as the objects hand them over, and
 * the pure rules for restoring one into another user's object (validated against format.ts, a newer
 * version refused, ids carried over to the restored account's). The objects call these; the export
 * job takes the snapshots through `takeLiveSnapshot`.
 */

import type { z } from "@hono/zod-openapi";
import type { Env } from "../../env";
import { sha256Hex } from "../../lib/ids";
import type { LiveRefusal } from "../../lib/live-refusal";
import type { FocusSettings } from "../focus/kinds";
import type { TimerState } from "../focus/machine";
import type { PetState as PetData } from "../pets/care";
import {
  type FocusSnapshot,
  FocusSnapshotSchema,
  LIVE_VERSION,
  type LiveSection,
  type PetSnapshot,
  PetSnapshotSchema,
} from "./format";

/** Why an object refused a snapshot, as the API would say it (its account gone: 401). */
export type { LiveRefusal };

export type LiveResult<T> = { ok: true; value: T } | { ok: false; error: LiveRefusal };

/** What a restore may be told: the restored account's ids for the exported ones (tasks, steps, the pet). */
export interface RestoreOptions {
  /**
   * Old id → new id. Absent: ids are kept as they are. Present: a task or step id it lacks is
   * dropped (null), as the thing it named was not restored.
   */
  ids?: Record<string, string>;
}

export const focusSnapshot = (settings: FocusSettings, timer: TimerState | null): FocusSnapshot => ({
  version: LIVE_VERSION,
  settings,
  timer,
});

export const petSnapshot = (pet: PetData | null): PetSnapshot => ({ version: LIVE_VERSION, pet });

function parseSnapshot<S extends z.ZodType<{ version: number }>>(
  schema: S,
  input: unknown,
  what: string,
): LiveResult<z.infer<S>> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    return {
      ok: false,
      error: {
        status: 422,
        code: "invalid_snapshot",
        detail: `The ${what} snapshot is not valid${where}: ${issue?.message ?? "unknown problem"}.`,
      },
    };
  }
  if (parsed.data.version > LIVE_VERSION) {
    return {
      ok: false,
      error: {
        status: 422,
        code: "snapshot_too_new",
        detail: `The ${what} snapshot is version ${parsed.data.version}; this server reads up to version ${LIVE_VERSION}.`,
      },
    };
  }
  return { ok: true, value: parsed.data };
}

export const parseFocusSnapshot = (input: unknown) => parseSnapshot(FocusSnapshotSchema, input, "focus");
export const parsePetSnapshot = (input: unknown) => parseSnapshot(PetSnapshotSchema, input, "pet");

/**
 * The restored account's id for an exported one that has no mapping (a running session, the pet): a
 * UUIDv7 keeping the original's time (lists sort by it) and derived from the account and the old id,
 * so restoring the same snapshot twice gives the same id.
 */
export async function derivedId(userId: string, oldId: string): Promise<string> {
  const hash = await sha256Hex(`${userId}\u0000${oldId}`);
  const time = /^[0-9a-f]{8}-[0-9a-f]{4}-/.test(oldId)
    ? oldId.slice(0, 14)
    : `${hash.slice(0, 8)}-${hash.slice(8, 12)}-`;
  const variant = ((Number.parseInt(hash.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${time}7${hash.slice(13, 16)}-${variant}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

function mapRef(id: string | null, options: RestoreOptions): string | null {
  if (id === null || !options.ids) return id;
  return options.ids[id] ?? null;
}

/** The focus timer of a snapshot, as the restored account's: its user, its ids. */
export async function restoredTimer(
  timer: TimerState,
  userId: string,
  options: RestoreOptions,
): Promise<TimerState> {
  const sessionId = async (old: string) => options.ids?.[old] ?? derivedId(userId, old);
  const work = timer.work && {
    ...timer.work,
    session_id: await sessionId(timer.work.session_id),
    task_id: mapRef(timer.work.task_id, options),
    step_id: mapRef(timer.work.step_id, options),
    interruption_log: timer.work.interruption_log.map((i) => ({ ...i })),
  };
  const pause = timer.break && {
    ...timer.break,
    after_session_id: await sessionId(timer.break.after_session_id),
  };
  const record = timer.last_record && {
    ...timer.last_record,
    user_id: userId,
    session_id: await sessionId(timer.last_record.session_id),
    task_id: mapRef(timer.last_record.task_id, options),
    step_id: mapRef(timer.last_record.step_id, options),
  };
  return {
    ...timer,
    user_id: userId,
    work,
    break: pause,
    last_record: record,
    settings: { ...timer.settings },
  };
}

/** The pet of a snapshot as the restored account's: its user, the id it is to have, its own seed (its look). */
export function restoredPet(pet: PetData, userId: string, petId: string): PetData {
  return { ...pet, user_id: userId, pet_id: petId };
}

/** The id the restored pet takes: the one the account already has, else the mapped or a derived one. */
export async function restoredPetId(
  pet: PetData,
  userId: string,
  existing: string | undefined,
  options: RestoreOptions,
): Promise<string> {
  return existing ?? options.ids?.[pet.pet_id] ?? derivedId(userId, pet.pet_id);
}

const refusalMessage = (error: LiveRefusal) => `${error.code}: ${error.detail}`;

/**
 * Both objects' snapshots for the export. Each object first writes what it owes D1 (ended sessions,
 * the pet's row), so the tables read after agree with the live state.
 */
export async function takeLiveSnapshot(
  env: Pick<Env, "FOCUS_TIMER" | "PET_STATE">,
  userId: string,
): Promise<LiveSection> {
  const [focus, pet] = await Promise.all([
    env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(userId)).snapshot(userId),
    env.PET_STATE.get(env.PET_STATE.idFromName(userId)).snapshot(userId),
  ]);
  if (!focus.ok) throw new Error(`focus snapshot refused: ${refusalMessage(focus.error)}`);
  if (!pet.ok) throw new Error(`pet snapshot refused: ${refusalMessage(pet.error)}`);
  return { focus: focus.value, pet: pet.value };
}
