/**
 * A file read once through its source, for the preview: what it holds (counts, the first items, its
 * problems) and, for every item, what a duplicate check needs. Nothing here touches D1.
 */
import { FIRST_ITEMS, MAX_ITEMS, MAX_LISTED } from "./limits";
import type { ImportItemDto, ImportPreviewDto, ImportProblemDto } from "./schemas";
import {
  type ImportSource,
  type Place,
  type SourceContext,
  type SourceItem,
  SourceRefusal,
} from "./sources/types";

/** What the duplicate check needs of an item (see duplicates.ts). */
export interface Candidate {
  key: string;
  place: Place;
  title: string;
  dueAt: string | null;
  status: SourceItem["status"];
  externalId: string | null;
}

export interface Scan {
  preview: Omit<ImportPreviewDto, "duplicates">;
  candidates: Candidate[];
}

const placeOf = (place: Place) => ({
  ...(place.row !== undefined ? { row: place.row } : {}),
  ...(place.line !== undefined ? { line: place.line } : {}),
  ...(place.field !== undefined ? { field: place.field } : {}),
});

/** An item as the API shows it. */
export function itemDto(item: SourceItem): ImportItemDto {
  return {
    key: item.key,
    external_id: item.externalId,
    ...placeOf(item.place),
    title: item.title,
    description: item.description,
    status: item.status,
    priority: item.priority,
    due_at: item.dueAt,
    tags: item.tags,
    estimated_minutes: item.estimatedMinutes,
    parent_key: item.parentKey,
    depends_on: item.dependsOn,
    steps: item.steps,
    created_at: item.createdAt,
    completed_at: item.completedAt,
  };
}

/** Reads the whole file; refuses (SourceRefusal) one the source cannot read, or with nothing to import. */
export async function scanFile(
  source: ImportSource,
  text: AsyncIterable<string>,
  context: SourceContext,
): Promise<Scan> {
  const counts = { tasks: 0, steps: 0, tags: 0, completed: 0, skipped: 0, duplicates: 0, problems: 0 };
  const tags = new Set<string>();
  const firstItems: ImportItemDto[] = [];
  const problems: ImportProblemDto[] = [];
  const candidates: Candidate[] = [];
  for await (const event of source.read(text, context)) {
    if (event.kind === "problem") {
      counts.problems += 1;
      if (event.problem.skipped) counts.skipped += 1;
      if (problems.length < MAX_LISTED) {
        const { message, skipped, ...place } = event.problem;
        problems.push({ ...placeOf(place), message, skipped });
      }
      continue;
    }
    const item = event.item;
    counts.tasks += 1;
    if (counts.tasks > MAX_ITEMS) {
      throw new SourceRefusal(
        `The file holds more than ${MAX_ITEMS} tasks: split it into smaller files.`,
        item.place,
      );
    }
    counts.steps += item.steps.length;
    if (item.status === "completed") counts.completed += 1;
    for (const tag of item.tags) tags.add(tag);
    if (firstItems.length < FIRST_ITEMS) firstItems.push(itemDto(item));
    candidates.push({
      key: item.key,
      place: item.place,
      title: item.title,
      dueAt: item.dueAt,
      status: item.status,
      externalId: item.externalId,
    });
  }
  counts.tags = tags.size;
  if (counts.tasks === 0) {
    const first = problems[0];
    throw new SourceRefusal(
      first
        ? `Nothing in the file can be imported. The first problem: ${first.message}`
        : "The file holds no tasks to import.",
      first ?? {},
    );
  }
  return { preview: { counts, first_items: firstItems, problems }, candidates };
}
