import type { TaskCategory } from "../../db/schema/tasks";

/** What a categoriser reads of a task: what the person wrote. */
export interface CategoriseInput {
  title: string;
  description?: string | null;
  tags?: readonly string[] | null;
}

/** A category with how sure the categoriser is (0–1), and which one answered. */
export interface Categorised {
  category: TaskCategory;
  confidence: number;
  by: "local" | "ai";
}

/** Files a task under one of TASK_CATEGORIES, like the splitter: an AI and a local implementation. */
export interface Categoriser {
  categorise(input: CategoriseInput): Promise<Categorised>;
}
