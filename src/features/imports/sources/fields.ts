/**
 * What every source shares: cells made into our fields (tags, priorities, yes/no, minutes), and an
 * item fitted to the limits a task keeps (title, description, tags, steps), each cut said as a problem.
 */
import type { TaskPriority } from "../../../db/schema/tasks";
import { MAX_STEPS_PER_TASK, MAX_TAGS } from "../../tasks/schemas";
import type { Place, SourceEvent, SourceItem, SourceProblem } from "./types";

export const MAX_TITLE = 300;
export const MAX_DESCRIPTION = 10_000;
export const MAX_STEP_DESCRIPTION = 500;
export const MAX_TAG = 32;
export const MAX_ESTIMATE_MINUTES = 100_000;
/** The longest id of the app's own kept as it is. */
export const MAX_EXTERNAL_ID = 200;

const TAG_CHARACTERS = /[^\p{L}\p{N}_-]+/gu;

/** A label as one of our tags ("Home Stuff" → "home-stuff"), or null when nothing of it is left. */
export function tagOf(label: string): string | null {
  const tag = label
    .trim()
    .replace(/^#/, "")
    .replace(/\s+/g, "-")
    .replace(TAG_CHARACTERS, "")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase()
    .slice(0, MAX_TAG);
  return tag.length > 0 ? tag : null;
}

/** Labels in one cell ("errands, home; weekend"), as tags. */
export function tagsOfCell(cell: string): string[] {
  return cell
    .split(/[,;]/)
    .map(tagOf)
    .filter((t): t is string => t !== null);
}

const PRIORITY_WORDS: Record<string, TaskPriority> = {
  none: "medium",
  normal: "medium",
  medium: "medium",
  med: "medium",
  low: "low",
  high: "high",
  urgent: "critical",
  critical: "critical",
  highest: "critical",
  p1: "critical",
  p2: "high",
  p3: "medium",
  // Todoist's p4 is its default, a task nobody prioritised: our default, not "low".
  p4: "medium",
  "!": "medium",
  "!!": "high",
  "!!!": "critical",
};

/** A priority said in words (low, normal, high, urgent…), as p1–p4 (p1 highest) or as !/!!/!!!. */
export function priorityOfWord(cell: string): TaskPriority | null {
  return PRIORITY_WORDS[cell.trim().toLowerCase()] ?? null;
}

// English, and the few words a spreadsheet in German, French, Spanish or Portuguese would use.
const YES = new Set(
  "true yes y 1 x ✓ ✔ done completed complete closed ja erledigt oui fait sí si hecho sim feito".split(" "),
);
const NO = new Set(
  ["false", "no", "n", "0", "open", "todo", "to do", "pending", "not done", "incomplete"].concat(
    "nein offen non não nao".split(" "),
  ),
);

/** Whether a "done" cell says done: true, false, or null when it says neither. */
export function doneOfCell(cell: string): boolean | null {
  const value = cell.trim().toLowerCase();
  if (value === "") return false;
  if (YES.has(value)) return true;
  if (NO.has(value)) return false;
  return null;
}

/** Minutes from "45", "45m", "1h", "1h30m", "1.5 h", "90 min"; null when it is none of those. */
export function minutesOfCell(cell: string): number | null {
  const text = cell.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+(?:[.,]\d+)?)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?|s)?)?)?$/.exec(text);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  const hours = m[1] === undefined ? 0 : Number(m[1].replace(",", "."));
  return Math.round(hours * 60 + Number(m[2] ?? 0));
}

/** An item before it is fitted: what a source read, unchecked. */
export type DraftItem = SourceItem;

/** The fields an item starts with before a source fills it in. */
export function blankItem(key: string, place: Place): DraftItem {
  return {
    key,
    externalId: null,
    place,
    title: "",
    description: null,
    status: "pending",
    priority: "medium",
    dueAt: null,
    tags: [],
    estimatedMinutes: null,
    parentKey: null,
    dependsOn: [],
    steps: [],
    createdAt: null,
    completedAt: null,
  };
}

/**
 * C0 control characters but tab and line feed, and DEL: they mean nothing in a task, and JSON writes
 * each of them in six characters (a file of them would store six times its size). A CR ends a line.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export const withoutControls = (text: string) =>
  text.includes("\r") ? text.replace(/\r\n?/g, "\n").replace(CONTROLS, "") : text.replace(CONTROLS, "");

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The most of a cell a problem's message quotes: a hostile 3 MB cell must not become a 3 MB message. */
export const MAX_QUOTED = 80;

/** A cell as a message names it: on one line, cut to MAX_QUOTED characters. */
export const short = (text: string) => clip(text.replace(/\s+/g, " ").trim(), MAX_QUOTED);

/** A cell as a message quotes it: `short`, in double quotes. */
export const quote = (text: string) => `"${short(text)}"`;

export const problem = (place: Place, message: string, skipped = false): SourceEvent => ({
  kind: "problem",
  problem: { ...place, message, skipped },
});

/**
 * The item as a task can hold it: titles, descriptions and steps cut to their limits, tags
 * de-duplicated and capped, steps capped at a task's 50 (the rest kept as lines of the description),
 * an estimate capped. Every cut is reported; an item without a title is no item.
 */
export function fitItem(draft: DraftItem): {
  item: SourceItem | null;
  problems: SourceProblem[];
  /** Control characters were dropped from its text (the file's one problem for them: preview.ts). */
  controls: boolean;
} {
  let controls = false;
  const clean = (text: string) => {
    const cleaned = withoutControls(text);
    if (cleaned !== text) controls = true;
    return cleaned;
  };
  const clean1 = (text: string | null) => (text === null ? null : clean(text));
  const problems: SourceProblem[] = [];
  // A JSON source's place is already a path (cards[3]): the field goes after it.
  const say = (message: string, skipped: boolean, field: string) =>
    problems.push({
      ...draft.place,
      field: draft.place.field ? `${draft.place.field}.${field}` : field,
      message,
      skipped,
    });
  const title = clean(draft.title).replace(/\s+/g, " ").trim();
  if (!title) {
    say("A task without a name: skipped.", true, "title");
    return { item: null, problems, controls };
  }
  if (title.length > MAX_TITLE) say(`The name is longer than ${MAX_TITLE} characters: cut.`, false, "title");
  let description = clean1(draft.description)?.trim() || null;
  const tags = [...new Set(draft.tags)];
  if (tags.length > MAX_TAGS)
    say(`More than ${MAX_TAGS} tags: only the first ${MAX_TAGS} are kept.`, false, "tags");
  const steps = draft.steps
    .map((s) => ({ description: clean(s.description).replace(/\s+/g, " ").trim(), done: s.done }))
    .filter((s) => s.description.length > 0);
  if (steps.some((s) => s.description.length > MAX_STEP_DESCRIPTION))
    say(`A step is longer than ${MAX_STEP_DESCRIPTION} characters: cut.`, false, "steps");
  if (steps.length > MAX_STEPS_PER_TASK) {
    say(
      `More than ${MAX_STEPS_PER_TASK} steps: the rest are kept as lines of the description.`,
      false,
      "steps",
    );
    const rest = steps
      .slice(MAX_STEPS_PER_TASK)
      .map((s) => `${s.done ? "[x]" : "[ ]"} ${s.description}`)
      .join("\n");
    description = description ? `${description}\n\n${rest}` : rest;
  }
  if (description && description.length > MAX_DESCRIPTION)
    say(`The description is longer than ${MAX_DESCRIPTION} characters: cut.`, false, "description");
  let estimate = draft.estimatedMinutes;
  if (estimate !== null && (estimate < 0 || !Number.isFinite(estimate))) estimate = null;
  if (estimate !== null && estimate > MAX_ESTIMATE_MINUTES) {
    say(`An estimate over ${MAX_ESTIMATE_MINUTES} minutes: capped.`, false, "estimate");
    estimate = MAX_ESTIMATE_MINUTES;
  }
  const item: SourceItem = {
    ...draft,
    title: clip(title, MAX_TITLE),
    description: description === null ? null : clip(description, MAX_DESCRIPTION),
    tags: tags.slice(0, MAX_TAGS),
    estimatedMinutes: estimate === null ? null : Math.round(estimate),
    externalId: draft.externalId === null ? null : clean(draft.externalId).slice(0, MAX_EXTERNAL_ID),
    steps: steps
      .slice(0, MAX_STEPS_PER_TASK)
      .map((s) => ({ description: clip(s.description, MAX_STEP_DESCRIPTION), done: s.done })),
    completedAt: draft.status === "completed" ? draft.completedAt : null,
  };
  return { item, problems, controls };
}

/** The events of a fitted item: its problems, then the item itself. */
export function* eventsOfDraft(draft: DraftItem): Generator<SourceEvent> {
  const { item, problems, controls } = fitItem(draft);
  for (const p of problems) yield { kind: "problem", problem: p };
  if (item) yield controls ? { kind: "item", item, controls } : { kind: "item", item };
}
