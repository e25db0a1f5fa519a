/**
 * The original API's split (plan §1.1, #12): `POST /tasks/{task_id}/split` with `{}`, `{mode: "adhd"}`
 * (the mobile app) or `{user_id}` (its tests) puts the steps on the task and answers them; splitting a
 * task that has steps answers those steps unchanged (the same ids). Our own uses of the path keep
 * their meaning; these pure functions tell the two apart and shape the original's read fields.
 */
import type { MicroStepDto } from "../tasks/schemas";

/** The request fields only our own split has: a body with one of them is ours. */
const OUR_FIELDS = [
  "apply",
  "split_id",
  "energy_level",
  "difficulty",
  "category",
  "splitter",
  "preferred_step_count",
] as const;

const ORIGINAL_MODES = new Set(["adhd", "default"]);
const OUR_MODES = new Set(["replace", "append"]);

/**
 * Whether a split request is the original API's: never with `apply: false` (ours); otherwise its modes
 * (adhd, default, any case) or a `user_id` say so anywhere; on the original's own path (`/tasks/{task_id}/split`) a body with none of our
 * fields — the mobile app's `{}` — is the original's too. `/tasks/split/{task_id}` with `{}` stays ours.
 */
export function isLegacySplit(originalPath: boolean, body: unknown): boolean {
  const fields = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  // `apply: false` is a caller of ours asking for a suggestion, whatever else it sends: it never writes.
  if (fields.apply === false) return false;
  const mode = typeof fields.mode === "string" ? fields.mode.toLowerCase() : undefined;
  if (mode !== undefined && ORIGINAL_MODES.has(mode)) return true;
  if (fields.user_id !== undefined) return true;
  if (!originalPath) return false;
  if (mode !== undefined && OUR_MODES.has(mode)) return false;
  return !OUR_FIELDS.some((field) => fields[field] !== undefined);
}

export interface OriginalSplitFields {
  micro_steps: MicroStepDto[];
  next_action: {
    step_id: string;
    step_number: number;
    description: string;
    estimated_minutes: number;
  } | null;
  metadata: { ai_provider: "workers-ai" | "local"; llm_used: boolean; generation_method: string };
}

/** What the original's clients read beside our answer: the stored steps, the first to do, who split. */
export function originalSplitFields(method: string, steps: readonly MicroStepDto[]): OriginalSplitFields {
  const ordered = [...steps].sort((a, b) => a.position - b.position);
  const next = ordered.find((s) => s.status === "pending");
  return {
    micro_steps: ordered,
    next_action: next
      ? {
          step_id: next.step_id,
          step_number: next.position,
          description: next.description,
          estimated_minutes: next.estimated_minutes,
        }
      : null,
    metadata: {
      ai_provider: method === "ai" ? "workers-ai" : "local",
      llm_used: method === "ai",
      generation_method: method,
    },
  };
}
