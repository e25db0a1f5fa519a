/**
 * The contract every importer keeps: a source turns a file's text, as it streams in, into normalised
 * items one at a time, with problems tied to the row or line they came from. The pipeline (preview,
 * then the commit's chunks) knows nothing of any app's format; a new source (restore from our own
 * export) is one more implementation of `ImportSource`.
 */
import type { TaskPriority } from "../../../db/schema/tasks";

/** Where in the file something is: a CSV row (the header is row 1, as a spreadsheet shows it), a line, a JSON path. */
export interface Place {
  row?: number;
  line?: number;
  field?: string;
}

export type ItemStatus = "pending" | "completed" | "cancelled";

export interface SourceStep {
  description: string;
  done: boolean;
}

/** One task as the file describes it, in our terms. */
export interface SourceItem {
  /** Unique within the file: the app's own id, or `row:<n>` when it has none. */
  key: string;
  /** The app's own id, when the file has one: remembered, so importing the same export again skips it. */
  externalId: string | null;
  place: Place;
  title: string;
  description: string | null;
  status: ItemStatus;
  priority: TaskPriority;
  /** ISO-8601 UTC. */
  dueAt: string | null;
  tags: string[];
  estimatedMinutes: number | null;
  /** The key of the item this one is a sub-task of (it may come later in the file). */
  parentKey: string | null;
  /** Keys of items this one waits on. */
  dependsOn: string[];
  steps: SourceStep[];
  /** When the app says it was created / completed (ISO-8601 UTC), if it says. */
  createdAt: string | null;
  completedAt: string | null;
}

/** Something in the file that was not taken as it is. `skipped`: the row became no item at all. */
export interface SourceProblem extends Place {
  message: string;
  skipped: boolean;
}

/** `controls`: control characters were dropped from the item's text (one problem a file says so). */
export type SourceEvent =
  | { kind: "item"; item: SourceItem; controls?: boolean }
  | { kind: "problem"; problem: SourceProblem };

/** The file is not what the source reads (wrong format, truncated, corrupted): nothing is imported. */
export class SourceRefusal extends Error {
  readonly place: Place;

  constructor(message: string, place: Place = {}) {
    super(message);
    this.name = "SourceRefusal";
    this.place = place;
  }
}

/** What a source needs besides the file. */
export interface SourceContext {
  /** The zone dates without one are read in (the user's). */
  zone: string;
  /** Now, for dates said in words ("tomorrow"). */
  now: number;
  /** The generic CSV source's column mapping (field → column name). */
  mapping?: Record<string, string> | null;
}

export interface ImportSource {
  /** Reads the file's text, chunk by chunk, yielding items and problems in file order. */
  read(text: AsyncIterable<string>, context: SourceContext): AsyncGenerator<SourceEvent, void, undefined>;
}
