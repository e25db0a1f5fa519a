import type { CATEGORY_SOURCES, TaskCategory } from "../../db/schema/tasks";
import type { CategoriseInput } from "./categoriser";
import { categoriseLocally } from "./local-categoriser";

export type CategorySource = (typeof CATEGORY_SOURCES)[number];

/**
 * The category a new task is filed under and who chose it: the one given (the user's, or a template's
 * they applied), else the local categoriser's — synchronous and pure, so creating a task costs no
 * extra round trip. Workers AI may refine a local choice later (see event-handler.ts).
 *
 * When the words point nowhere the task stays unfiled (category null, source "local": looked at,
 * nothing found) rather than under the categoriser's fallback: analytics and the models slice by
 * category, and a guess with nothing behind it would plant a category pattern the person never made.
 * Workers AI, when configured, still gets to file it.
 */
export function categoryAtCreation(input: CategoriseInput & { category?: TaskCategory | null }): {
  category: TaskCategory | null;
  source: CategorySource;
} {
  if (input.category) return { category: input.category, source: "user" };
  const local = categoriseLocally(input);
  const found = Object.keys(local.scores).length > 0;
  return { category: found ? local.category : null, source: "local" };
}
