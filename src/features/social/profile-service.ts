/**
 * Public profiles: a handle, a switch (off by default) and a showcase of what the person chose to show.
 * The public view is read in two round trips (the profile by handle, then everything it shows in one
 * batch) and holds nothing that was not chosen: no email, no ids, no task but the ones named.
 */
import type { Database } from "../../db";
import type { ShowcaseChoice } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { isUniqueViolation } from "../../lib/db-errors";
import { conflict, type FieldError, notFound, validationFailed } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { type PublicStanding, publicStandingIn } from "../gamification/public-standing";
import { likenessIn } from "../pets/likeness";
import type { TaskDto } from "../tasks/schemas";
import { taskByIdQuery, toTaskDto } from "../tasks/statements";
import { checkHandle, HANDLE_PATTERN } from "./handles";
import {
  type ProfileRow,
  profileOfUser,
  publicProfileByHandle,
  releasedByOtherSince,
  upsertProfile,
} from "./queries";
import type { PublicProfileDto, PutProfileInput, ShowcaseItem, SocialProfileDto } from "./schemas";
import type { Likeness } from "./snapshot";

/**
 * How long a handle someone let go of stays theirs to take back before anyone else may take it: long
 * enough that old links and mentions stop pointing at a stranger in the meantime.
 */
export const HANDLE_COOLDOWN_DAYS = 30;
const DAY_MS = 86_400_000;

export const profileUrl = (baseUrl: string, handle: string) => `${baseUrl.replace(/\/+$/, "")}/u/${handle}`;

function toProfileDto(baseUrl: string, row: ProfileRow | undefined): SocialProfileDto {
  if (!row)
    return { handle: null, public: false, showcase: [], url: null, created_at: null, updated_at: null };
  return {
    handle: row.handle,
    public: row.isPublic,
    showcase: row.showcase,
    url: profileUrl(baseUrl, row.handle),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export async function ownProfile(db: Database, baseUrl: string, userId: string): Promise<SocialProfileDto> {
  return toProfileDto(baseUrl, await profileOfUser(db, userId));
}

/** Each kind once, each task once: a repeated item would show the same thing twice. */
function repeatedItems(showcase: readonly ShowcaseChoice[]): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  showcase.forEach((item, i) => {
    const key = item.kind === "task" ? `task:${item.task_id}` : item.kind;
    if (seen.has(key)) {
      errors.push({
        field: item.kind === "task" ? `showcase.${i}.task_id` : `showcase.${i}.kind`,
        message:
          item.kind === "task"
            ? "This task is already in the showcase"
            : `"${item.kind}" is already in the showcase`,
      });
    }
    seen.add(key);
  });
  return errors;
}

/**
 * What a PUT must check in D1, in one round trip: whether someone else let go of the handle within
 * the cooldown, and which showcased tasks are not the user's (another user's id reads like a missing
 * one).
 */
async function checksInD1(
  db: Database,
  userId: string,
  handleKey: string,
  showcase: readonly ShowcaseChoice[],
  now: number,
) {
  const named = showcase.flatMap((item, i) => (item.kind === "task" ? [{ i, id: item.task_id }] : []));
  const batch = new D1Batch();
  const since = nowIso(now - HANDLE_COOLDOWN_DAYS * DAY_MS);
  const released = batch.add(releasedByOtherSince(db, handleKey, userId, since));
  const reads = named.map(({ id }) => batch.add(taskByIdQuery(db, userId, id)));
  const results = await batch.run(db);
  const foreign: FieldError[] = named.flatMap(({ i }, n) =>
    reads[n]?.(results)[0]
      ? []
      : [{ field: `showcase.${i}.task_id`, message: "No task of yours has this id" }],
  );
  return { cooling: released(results).length > 0, foreign };
}

/** One answer for every handle someone else has: it says nothing of who, or whether they show it. */
const handleTaken = (handle: string) =>
  conflict("handle_taken", `The handle "${handle}" is taken; pick another.`);

/** Creates or replaces the caller's profile: 409 when another profile holds the handle in any case. */
export async function putProfile(
  db: Database,
  baseUrl: string,
  userId: string,
  input: PutProfileInput,
): Promise<SocialProfileDto> {
  const check = checkHandle(input.handle);
  if (!check.ok) throw validationFailed([{ field: "handle", message: check.message }]);
  const showcase: ShowcaseChoice[] = input.showcase ?? [];
  const now = Date.now();
  const { cooling, foreign } = await checksInD1(db, userId, check.key, showcase, now);
  const errors = [...repeatedItems(showcase), ...foreign];
  if (errors.length > 0) throw validationFailed(errors);
  if (cooling) throw handleTaken(input.handle);
  try {
    const row = await upsertProfile(
      db,
      { userId, handle: input.handle, handleKey: check.key, isPublic: input.public ?? false, showcase },
      nowIso(now),
    );
    return toProfileDto(baseUrl, row);
  } catch (error) {
    if (isUniqueViolation(error)) throw handleTaken(input.handle);
    throw error;
  }
}

/** What one chosen item shows now; null when there is nothing to show (no creature, task deleted). */
function showcaseItem(
  choice: ShowcaseChoice,
  standing: PublicStanding,
  likeness: Likeness | null,
  task: TaskDto | undefined,
): ShowcaseItem | null {
  switch (choice.kind) {
    case "level":
      return { kind: "level", level: standing.level, total_xp: standing.total_xp };
    case "streak":
      return { kind: "streak", ...standing.streak };
    case "badges":
      return {
        kind: "badges",
        badges: standing.badges.map(({ name, description, tier, unlocked_at }) => ({
          name,
          description,
          tier,
          unlocked_at,
        })),
      };
    case "creature":
      return likeness
        ? {
            kind: "creature",
            name: likeness.name,
            species: likeness.species,
            level: likeness.level,
            stage: likeness.stage,
            mood: likeness.mood,
          }
        : null;
    case "totals":
      return { kind: "totals", ...standing.totals };
    case "task":
      return task
        ? {
            kind: "task",
            title: task.title,
            status: task.status,
            completed_steps: task.progress.completed_steps,
            total_steps: task.progress.total_steps,
            completed_at: task.completed_at,
          }
        : null;
  }
}

/** What a public profile shows, and the creature to draw (only when chosen). */
export interface PublicView {
  dto: PublicProfileDto;
  creature: Likeness | null;
}

/** The public profile with this handle (any case); 404 when there is none or it is hidden. */
export async function publicView(db: Database, baseUrl: string, handle: string, now = Date.now()) {
  // What no handle can be is not looked up: junk never reaches the primary, and a look-alike that
  // lower-cases to a handle (the Kelvin sign "\u212A" becomes "k") is not that handle.
  if (!HANDLE_PATTERN.test(handle)) throw notFound("Profile");
  const profile = await publicProfileByHandle(db, handle);
  if (!profile) throw notFound("Profile");
  const batch = new D1Batch();
  const standingOf = publicStandingIn(batch, db, profile.userId, now);
  const creatureOf = likenessIn(batch, db, profile.userId, now);
  const taskReads = new Map(
    profile.showcase.flatMap((item) =>
      item.kind === "task"
        ? [[item.task_id, batch.add(taskByIdQuery(db, profile.userId, item.task_id))]]
        : [],
    ),
  );
  const results = await batch.run(db);
  const standing = standingOf(results);
  const likeness = creatureOf(results);
  const items = profile.showcase.flatMap((choice) => {
    const row = choice.kind === "task" ? taskReads.get(choice.task_id)?.(results)[0] : undefined;
    const item = showcaseItem(choice, standing, likeness, row ? toTaskDto(row) : undefined);
    return item ? [item] : [];
  });
  const url = profileUrl(baseUrl, profile.handle);
  const chosenCreature = profile.showcase.some((c) => c.kind === "creature") ? likeness : null;
  return {
    dto: { handle: profile.handle, url, image_url: `${url}.png`, showcase: items },
    creature: chosenCreature,
  } satisfies PublicView;
}
