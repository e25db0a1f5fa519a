import type { CATEGORY_SOURCES, TaskCategory } from "../../db/schema/tasks";
import type { CategoriseInput } from "./categoriser";
import { categoriseLocally } from "./local-categoriser";

export type CategorySource = (typeof CATEGORY_SOURCES)[number];

/**
 * The category a new task is filed under and who chose it: the one given (the user's, or a template's
 * they applied), else the local categoriser's — synchronous and pure, so creating a task costs no
 * extra round trip. Workers AI may refine a local choice later (see event-handler.ts).
 */
export function categoryAtCreation(input: CategoriseInput & { category?: TaskCategory | null }): {
  category: TaskCategory;
  source: CategorySource;
} {
  if (input.category) return { category: input.category, source: "user" };
  return { category: categoriseLocally(input).category, source: "local" };
}
