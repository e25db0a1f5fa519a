/**
 * A file read once through its source, for the preview: what it holds (counts, the first items, its
 * problems) and, for every item, what a duplicate check needs. Nothing here touches D1.
 */
import { FIRST_ITEMS, MAX_ITEMS, MAX_LISTED, MAX_PREVIEW_BYTES } from "./limits";
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

/**
 * Reads the whole file, handing each item to `onItem` as it comes (the parts the commit reads); refuses
 * (SourceRefusal) a file the source cannot read, or with nothing to import.
 */
export async function scanFile(
  source: ImportSource,
  text: AsyncIterable<string>,
  context: SourceContext,
  onItem: (item: SourceItem) => void | Promise<void> = () => undefined,
): Promise<Scan> {
  const counts = { tasks: 0, steps: 0, tags: 0, completed: 0, skipped: 0, duplicates: 0, problems: 0 };
  const tags = new Set<string>();
  const firstItems: ImportItemDto[] = [];
  const problems: ImportProblemDto[] = [];
  const candidates: Candidate[] = [];
  // Control characters dropped: one problem for the file (at the first item), not one per cell.
  let controls: { place: Place; items: number } | null = null;
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
    if (event.controls) {
      controls ??= { place: item.place, items: 0 };
      controls.items += 1;
    }
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
    await onItem(item);
    candidates.push({
      key: item.key,
      place: item.place,
      title: item.title,
      dueAt: item.dueAt,
      status: item.status,
      externalId: item.externalId,
    });
  }
  if (controls) {
    counts.problems += 1;
    if (problems.length < MAX_LISTED)
      problems.push({
        ...placeOf(controls.place),
        message: `Control characters (other than tabs and line breaks) were removed from ${controls.items} ${controls.items === 1 ? "task" : "tasks"}, this one the first.`,
        skipped: false,
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
  return { preview: { counts, first_items: firstItems, problems, truncated: false }, candidates };
}

const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/**
 * The preview as stored and answered, within `maxBytes` of JSON: a file of enormous cells (a 3 MB name,
 * a 3 MB id) would otherwise make a preview D1 cannot hold. Past the bound, the lists are shortened
 * from their ends — problems first, then duplicates, then the first items — and `truncated` says so;
 * the counts still cover the whole file.
 */
export function fitPreview(preview: ImportPreviewDto, maxBytes = MAX_PREVIEW_BYTES): ImportPreviewDto {
  if (bytesOf(preview) <= maxBytes) return preview;
  const fitted: ImportPreviewDto = {
    ...preview,
    first_items: [...preview.first_items],
    problems: [...preview.problems],
    duplicates: [...preview.duplicates],
    truncated: true,
  };
  let total = bytesOf(fitted);
  for (const list of [fitted.problems, fitted.duplicates, fitted.first_items] as unknown[][]) {
    // Each entry counted once (not the whole preview again per entry); without its comma, so the
    // running total never falls below the real size.
    const sizes = list.map(bytesOf);
    while (list.length > 0 && total > maxBytes) {
      list.pop();
      total -= sizes[list.length] ?? 0;
    }
    if (total <= maxBytes) break;
  }
  return fitted;
}
