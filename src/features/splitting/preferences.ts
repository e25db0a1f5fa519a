/** What the splitter learned per user and category, read from its D1 rows, and the category work is filed under. */
import type { splitPreferences } from "../../db/schema";
import type { TaskCategory } from "../../db/schema/tasks";
import { categoriseLocally } from "../categories/local-categoriser";
import type { TaskDto } from "../tasks/schemas";
import { type LearnedPreference, learnedFrom, type PreferenceState } from "./learning";

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
  // One categoriser for the whole platform (features/categories); only tasks older than it lack one.
  return asked ?? task.category ?? categoriseLocally(task).category;
}
