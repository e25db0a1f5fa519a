/** What the splitter learned per user and category, read from its D1 rows, and the category work is filed under. */
import type { splitPreferences } from "../../db/schema";
import type { TaskCategory } from "../../db/schema/tasks";
import type { TaskDto } from "../tasks/schemas";
import { type LearnedPreference, learnedFrom, type PreferenceState } from "./learning";
import { findShape } from "./local-splitter";

type PreferenceRow = typeof splitPreferences.$inferSelect;

export function stateOf(row: PreferenceRow): PreferenceState {
  return {
    step_minutes: row.stepMinutes,
    step_count: row.stepCount,
    just_right: row.justRight,
    too_large: row.tooLarge,
    too_small: row.tooSmall,
  };
}

export function learnedFor(rows: PreferenceRow[], category: TaskCategory): LearnedPreference | null {
  const row = rows.find((r) => r.category === category);
  return row ? learnedFrom(category, stateOf(row)) : null;
}

/** The category work is filed under: what the client said, else the task's, else what its title looks like. */
export function categoryOf(task: TaskDto, asked?: TaskCategory): TaskCategory {
  return asked ?? task.category ?? findShape(task.title, task.description).category;
}
