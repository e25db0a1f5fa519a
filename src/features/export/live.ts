/**
 * The live state of the Durable Objects in the export: snapshots as the objects hand them over, and
 * the pure rules for restoring one into another user's object (validated against format.ts, a newer
 * version refused, ids carried over to the restored account's). The objects call these; the export
 * job takes the snapshots through `takeLiveSnapshot`.
 */

import type { z } from "@hono/zod-openapi";
import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";
import { sha256Hex } from "../../lib/ids";
import type { LiveRefusal } from "../../lib/live-refusal";
import { type FocusSettings, normalizeSettings } from "../focus/kinds";
import { initialState, type TimerState } from "../focus/machine";
import { FED_EVENT_EVERY_MINUTES, PET_COOLDOWN_MINUTES, type PetState as PetData } from "../pets/care";
import { addXp, perksAt, stageForLevel } from "../pets/growth";
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

/**
 * What a restore may be told about the restored account. The file is the uploader's and may name
 * anything: no id in it is taken unless the caller vouches for it.
 */
export interface RestoreOptions {
  /**
   * Old id → new id (tasks, steps, sessions, the pet). Present: a task or step id it lacks is dropped
   * (null), as the thing it named was not restored. Absent: ids are looked up as they are.
   */
  ids?: Record<string, string>;
  /**
   * The task and step ids (the restored account's, after `ids`) that the caller checked are this
   * user's — the restore passes the ids of the rows it inserted. A task or step the snapshot names that
   * is not among them is dropped (null): a file cannot point the account at another person's task.
   * Absent: every task and step reference is dropped.
   */
  ownedIds?: readonly string[];
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

/** The new id the map gives an old one (own keys only: a file may name "__proto__"). */
function mapped(id: string, options: RestoreOptions): string | undefined {
  if (!options.ids) return id;
  const to = Object.hasOwn(options.ids, id) ? options.ids[id] : undefined;
  return typeof to === "string" ? to : undefined;
}

/** A task or step reference as the restored account's: mapped, and kept only if the caller vouched for it. */
function ownRef(id: string | null, options: RestoreOptions): string | null {
  if (id === null) return null;
  const to = mapped(id, options);
  return to !== undefined && options.ownedIds?.includes(to) ? to : null;
}

/** The restored id of a session or pet: the mapped one, else one derived from the old (the same each time). */
async function newIdFor(userId: string, old: string, options: RestoreOptions): Promise<string> {
  const to = options.ids && Object.hasOwn(options.ids, old) ? options.ids[old] : undefined;
  return typeof to === "string" && to.length > 0 ? to : derivedId(userId, old);
}

/**
 * The focus timer of a snapshot, as the restored account's: its user, its ids, its settings normalised
 * (as PATCH …/settings would have them). Idle: a work session or break in progress in the file is not
 * restored (format.ts FocusSnapshotSchema says why) — nothing restored can complete, pay XP or feed
 * the pet. What is kept: the run (so the long break comes when it is due) and the last session shown.
 */
export async function restoredTimer(
  timer: TimerState | null,
  userId: string,
  options: RestoreOptions,
): Promise<TimerState> {
  const idle = initialState(userId);
  if (!timer) return idle;
  const record = timer.last_record && {
    ...timer.last_record,
    user_id: userId,
    session_id: await newIdFor(userId, timer.last_record.session_id, options),
    task_id: ownRef(timer.last_record.task_id, options),
    step_id: ownRef(timer.last_record.step_id, options),
    interruption_log: timer.last_record.interruption_log.map((i) => ({ ...i })),
  };
  return {
    ...idle,
    run_count: timer.run_count,
    run_kind: timer.run_kind,
    last_ended_at: timer.last_ended_at === null ? null : Math.min(timer.last_ended_at, Date.now()),
    settings: normalizeSettings(timer.settings),
    last_record: record,
  };
}

/** Cooldowns run at most this far ahead of the moment they were set (care.ts). */
const COOLDOWN_CAP_MS =
  Math.max(PET_COOLDOWN_MINUTES, FED_EVENT_EVERY_MINUTES, perksAt(1).playCooldownMinutes) * 60_000;

/**
 * The pet of a snapshot as the restored account's: its user, the id it is to have, its own seed (its
 * look). Growth is made what the rules could produce: the level and the XP into it follow from the
 * total XP by the curve, the stage is no higher than the level allows. Times are brought to now at
 * the latest (cooldowns to no further ahead than the rules set them).
 */
export function restoredPet(pet: PetData, userId: string, petId: string, now = Date.now()): PetData {
  const grown = addXp(1, 0, pet.total_xp);
  const stage = Math.min(pet.stage, stageForLevel(grown.level)) as PetData["stage"];
  const cooldown = (at: number) => Math.min(at, now + COOLDOWN_CAP_MS);
  return {
    ...pet,
    user_id: userId,
    pet_id: petId,
    level: grown.level,
    xp: grown.xp,
    stage,
    stats_at: Math.min(pet.stats_at, now),
    created_at: Math.min(pet.created_at, now),
    last_fed_at: pet.last_fed_at == null ? null : Math.min(pet.last_fed_at, now),
    play_ready_at: cooldown(pet.play_ready_at),
    pet_ready_at: cooldown(pet.pet_ready_at),
    fed_event_ready_at: cooldown(pet.fed_event_ready_at),
    personality: pet.personality && { ...pet.personality, traits: [...pet.personality.traits] },
  };
}

/** The id the restored pet takes: the one the account already has, else the mapped or a derived one. */
export async function restoredPetId(
  pet: PetData,
  userId: string,
  existing: string | undefined,
  options: RestoreOptions,
): Promise<string> {
  return existing ?? newIdFor(userId, pet.pet_id, options);
}

/**
 * Runs what the object will run on the restored state (its view, its next step, its alarm's moment)
 * BEFORE anything is stored: a state that would break the object afterwards is refused instead.
 */
export function dryRun(what: string, check: () => void): LiveResult<true> {
  try {
    check();
    return { ok: true, value: true };
  } catch (error) {
    console.warn(
      JSON.stringify({ level: "warn", message: `${what} snapshot refused`, error: loggableError(error) }),
    );
    return {
      ok: false,
      error: {
        status: 422,
        code: "invalid_snapshot",
        detail: `The ${what} snapshot holds values this server cannot work with; nothing was restored.`,
      },
    };
  }
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
