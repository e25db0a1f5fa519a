/**
 * Shares (BE-08): taking the snapshot of a moment, keeping it under a fresh code, listing and revoking
 * them, and finding one by its code for the public page and card.
 */
import type { Database } from "../../db";
import type { ShareKind } from "../../db/schema/social";
import { D1Batch } from "../../lib/batch";
import { ApiError, conflict, notFound, validationFailed } from "../../lib/errors";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { type Page, pageOf } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { BADGES } from "../gamification/badges";
import { publicStandingIn } from "../gamification/public-standing";
import { likenessIn } from "../pets/likeness";
import { taskByIdQuery, toTaskDto } from "../tasks/statements";
import { shareWords } from "./card-content";
import { withFreshCode } from "./codes";
import { deleteShare, insertShare, type ShareRow, shareByCode, sharesOf } from "./queries";
import type { CreateShareInput, ShareDto } from "./schemas";
import { type Likeness, SNAPSHOT_VERSION, type Snapshot, SnapshotSchema } from "./snapshot";

const NEEDS_REF: ReadonlySet<ShareKind> = new Set(["achievement", "task"]);

/** The public page of a share, and its card. */
export const shareUrl = (baseUrl: string, code: string) => `${baseUrl.replace(/\/+$/, "")}/s/${code}`;

export function parseSnapshot(row: Pick<ShareRow, "snapshot">): Snapshot {
  return SnapshotSchema.parse(row.snapshot);
}

export function toShareDto(baseUrl: string, row: ShareRow): ShareDto {
  const words = shareWords(parseSnapshot(row));
  const url = shareUrl(baseUrl, row.code);
  return {
    share_id: row.id,
    code: row.code,
    kind: row.kind,
    ref_id: row.refId,
    url,
    image_url: `${url}.png`,
    title: words.title,
    text: words.text,
    created_at: row.createdAt,
  };
}

function checkRef(input: CreateShareInput): void {
  if (NEEDS_REF.has(input.kind) && input.ref_id === undefined) {
    const what = input.kind === "task" ? "the task_id of the task" : "the badge_id of the badge";
    throw validationFailed([{ field: "ref_id", message: `Name ${what} to share` }]);
  }
  if (!NEEDS_REF.has(input.kind) && input.ref_id !== undefined) {
    throw validationFailed([
      { field: "ref_id", message: `A ${input.kind} share takes no ref_id; leave it out` },
    ]);
  }
}

/** The user's creature as D1 records it now. */
async function likenessOf(db: Database, userId: string, now: number): Promise<Likeness | null> {
  const batch = new D1Batch();
  const likeness = likenessIn(batch, db, userId, now);
  return likeness(await batch.run(db));
}

/**
 * The moment to keep, read in one round trip: the standing, the creature and (for a task share) the
 * task. A refusal is answered, not thrown, so a retry with the same Idempotency-Key still replays the
 * first answer after the moment has passed.
 *
 * The creature is frozen with the share, and its D1 record follows its object's answers a moment late:
 * so the object's writes are waited for before it is read. For a creature share that comes first; for
 * the others (the creature drawn small) only when there is a creature, then read again.
 */
async function takeSnapshot(
  db: Database,
  userId: string,
  input: CreateShareInput,
  now: number,
  petSettled: () => Promise<void>,
): Promise<Snapshot | ApiError> {
  if (input.kind === "creature") await petSettled();
  const batch = new D1Batch();
  const standingOf = publicStandingIn(batch, db, userId, now);
  const creatureOf = likenessIn(batch, db, userId, now);
  const taskOf =
    input.kind === "task" && input.ref_id !== undefined
      ? batch.add(taskByIdQuery(db, userId, input.ref_id))
      : undefined;
  const results = await batch.run(db);
  const standing = standingOf(results);
  let creature = creatureOf(results);
  if (creature && input.kind !== "creature") {
    await petSettled();
    creature = await likenessOf(db, userId, now);
  }
  const common = { v: SNAPSHOT_VERSION, creature } as const;
  switch (input.kind) {
    case "level":
      // Everybody starts on level 1: the first moment worth sharing is reaching level 2.
      if (standing.level < 2)
        return conflict(
          "no_level_up",
          "You are still on level 1: finish a few steps to reach level 2, then share it.",
        );
      return { kind: "level", level: standing.level, total_xp: standing.total_xp, ...common };
    case "streak":
      if (standing.streak.current_days < 1)
        return conflict(
          "no_streak",
          "You have no streak going today: finish a step to start one, then share it.",
        );
      return { kind: "streak", ...standing.streak, ...common };
    case "achievement": {
      const badge = standing.badges.find((b) => b.id === input.ref_id);
      if (badge) {
        const { id, unlocked_at, name, description, tier } = badge;
        return { kind: "achievement", badge_id: id, name, description, tier, unlocked_at, ...common };
      }
      const known = BADGES.some((b) => b.id === input.ref_id);
      return validationFailed([
        {
          field: "ref_id",
          message: known ? "You have not unlocked this badge yet" : "No badge has this id",
        },
      ]);
    }
    case "creature":
      if (!creature)
        return conflict("no_creature", "You have no creature yet: adopt one with POST /api/v1/pets.");
      return { kind: "creature", ...common, creature };
    case "task": {
      const row = taskOf?.(results)[0];
      if (!row) return notFound("Task");
      const task = toTaskDto(row);
      return {
        kind: "task",
        title: task.title,
        status: task.status,
        completed_steps: task.progress.completed_steps,
        total_steps: task.progress.total_steps,
        ...common,
      };
    }
  }
}

/**
 * Shares a moment: 201 with its link, card and words. Retry-safe with an Idempotency-Key. `petSettled`
 * resolves once the pet's D1 record holds every change its object answered (pets' petRecordSettled).
 */
export function createShare(
  db: Database,
  baseUrl: string,
  userId: string,
  input: CreateShareInput,
  idempotency: IdempotencyContext | undefined,
  petSettled: () => Promise<void>,
): Promise<WriteOutcome<ShareDto, never>> {
  checkRef(input);
  const now = Date.now();
  return withFreshCode((code) =>
    writeOnce(
      db,
      userId,
      idempotency,
      (snapshot) => {
        if (snapshot instanceof ApiError) throw snapshot;
        const row: ShareRow = {
          id: newId(now),
          userId,
          code,
          kind: input.kind,
          refId: input.ref_id ?? null,
          snapshot,
          createdAt: nowIso(now),
        };
        const batch = new D1Batch();
        batch.add(insertShare(db, row));
        return { status: 201, batch, body: toShareDto(baseUrl, row) };
      },
      () => takeSnapshot(db, userId, input, now, petSettled),
    ),
  );
}

export async function listShares(
  db: Database,
  baseUrl: string,
  userId: string,
  limit: number,
  afterId: string | null,
): Promise<Page<ShareDto>> {
  const rows = await sharesOf(db, userId, limit, afterId);
  return pageOf(
    rows,
    limit,
    (row) => toShareDto(baseUrl, row),
    (row) => row.id,
  );
}

/** Revokes a share: its page and card answer 404 from now on. Answers what the card was drawn from. */
export async function revokeShare(db: Database, userId: string, shareId: string) {
  const gone = await deleteShare(db, userId, shareId);
  if (!gone) throw notFound("Share");
  return { code: gone.code, snapshot: parseSnapshot(gone) };
}

/** A live share by its code, with its snapshot; undefined when no share has it (or it was revoked). */
export async function liveShare(db: Database, code: string) {
  const row = await shareByCode(db, code);
  return row ? { row, snapshot: parseSnapshot(row) } : undefined;
}
