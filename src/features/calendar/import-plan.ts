/**
 * What an .ics file becomes: one task per to-do and per event occurrence to come, with the warnings a
 * person should read. Pure: the service compares the plan with what earlier imports made and writes.
 *
 * - A VTODO is a task due at its DUE (else DTSTART + DURATION, else DTSTART); done or cancelled ones
 *   are skipped. A recurring VTODO is imported once, with a warning.
 * - A VEVENT is a task due when it starts (a whole-day one at 23:59 that day, as capture reads "due
 *   Friday"), as long as the event lasts. Cancelled events and events already over are skipped.
 * - A recurring VEVENT becomes one task per occurrence that ends after now and starts within the
 *   window (60 days), at most `maxOccurrences` per series; overrides (RECURRENCE-ID) replace theirs.
 * - Items this platform's own feed marks (focus sessions, completed tasks) are skipped.
 */
import type { TaskPriority } from "../../db/schema/tasks";
import { KIND_PROPERTY, STATUS_PROPERTY } from "./feed-items";
import {
  type DateContext,
  dateOf,
  type IcsTime,
  instantOf,
  parseDuration,
  parseTimeList,
  parseTimeValue,
  wallInstant,
} from "./ics-dates";
import {
  type ContentLine,
  type IcsComponent,
  IcsSyntaxError,
  paramOf,
  parseIcs,
  propertiesOf,
  propertyOf,
} from "./ics-parser";
import { cutText, formatUtc, unescapeText } from "./ics-text";
import {
  expand,
  IMPORT_CANDIDATE_BUDGET,
  type Occurrence,
  occurrenceKey,
  parseRRule,
  type RRule,
} from "./rrule";

export const IMPORT_WINDOW_DAYS = 60;
export const MAX_OCCURRENCES_PER_SERIES = 100;
export const MAX_IMPORT_ITEMS = 500;
/** Warnings answered at most; the rest are counted in one last warning. */
export const MAX_WARNINGS = 50;

const TITLE_MAX = 300;
const DESCRIPTION_MAX = 10_000;
const MAX_ESTIMATE_MINUTES = 100_000;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** The last instant a due date may be: the end of the year 9999, as far as a DATE-TIME reaches. */
const LAST_DUE_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
/** How much of a UID a warning quotes: a UID may be a kilobyte of anything. */
const QUOTED_UID = 60;
/** RDATE and EXDATE values one import reads: each costs a clock lookup, and no calendar needs more. */
export const MAX_DATE_VALUES = 10_000;
/** The longest SEQUENCE taken as written; anything longer is no version anybody counted to. */
const SEQUENCE = /^\d{1,9}$/;

export interface PlannedItem {
  uid: string;
  /** "" for a single item; the occurrence's original start (as RECURRENCE-ID writes it) in a series. */
  recurrenceKey: string;
  title: string;
  description: string | null;
  dueAt: string | null;
  estimatedMinutes: number | null;
  priority: TaskPriority | undefined;
  sequence: number;
  line: number;
}

export interface ImportWarning {
  line: number | null;
  message: string;
}

export interface ImportPlan {
  items: PlannedItem[];
  skipped: number;
  warnings: ImportWarning[];
}

export interface PlanOptions {
  now: number;
  /** The importing person's zone: whole days and floating times are read on it. */
  zone: string;
  maxItems?: number;
}

/** The file holds more items to import than one import takes. */
export class TooManyItemsError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`The calendar holds more than ${limit} items to import.`);
    this.name = "TooManyItemsError";
    this.limit = limit;
  }
}

/** One VEVENT or VTODO, read. */
interface Entry {
  kind: "VEVENT" | "VTODO";
  uid: string;
  title: string;
  description: string | null;
  start: IcsTime | undefined;
  durationMs: number;
  due: IcsTime | undefined;
  recurrenceId: IcsTime | undefined;
  rule: RRule | undefined;
  /** The RRULE part this expander cannot follow, and its line: the item is then read once. */
  unsupportedRule: { part: string; line: number } | undefined;
  rdates: IcsTime[];
  exdates: IcsTime[];
  sequence: number;
  priority: TaskPriority | undefined;
  skip: string | undefined;
  line: number;
}

function priorityOf(value: string | undefined): TaskPriority | undefined {
  const n = Number(value);
  if (!value || !Number.isInteger(n) || n < 1 || n > 9) return undefined;
  if (n === 1) return "critical";
  if (n <= 4) return "high";
  return n === 5 ? "medium" : "low";
}

function textOf(component: IcsComponent, name: string): string | undefined {
  const property = propertyOf(component, name);
  return property ? unescapeText(property.value) : undefined;
}

/** A UID as a warning quotes it: at most 60 characters. */
export const quotedUid = (uid: string) => cutText(uid, QUOTED_UID, "…");

/** A small stable hash (FNV-1a), for the UID of an item that has none. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

class Planner {
  readonly items: PlannedItem[] = [];
  readonly warnings: ImportWarning[] = [];
  private readonly skips = new Map<string, number>();
  private readonly keys = new Map<string, number>();
  private warningsLeftOut = 0;
  private readonly budget = { candidates: IMPORT_CANDIDATE_BUDGET };
  private dateValues = 0;
  readonly context: DateContext;
  private readonly unknownZones = new Set<string>();

  constructor(private readonly options: Required<PlanOptions>) {
    this.context = {
      defaultZone: options.zone,
      unknownZone: (tzid, line) => {
        if (this.unknownZones.has(tzid)) return;
        this.unknownZones.add(tzid);
        this.warn(line, `Time zone "${tzid}" is not known: its times are read in ${options.zone}.`);
      },
    };
  }

  warn(line: number | null, message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ line, message });
    else this.warningsLeftOut += 1;
  }

  skip(reason: string): void {
    this.skips.set(reason, (this.skips.get(reason) ?? 0) + 1);
  }

  get skipped(): number {
    return [...this.skips.values()].reduce((a, b) => a + b, 0);
  }

  finish(): ImportPlan {
    for (const [reason, count] of this.skips) this.warn(null, `${count} skipped: ${reason}.`);
    if (this.warningsLeftOut > 0) {
      this.warnings.push({ line: null, message: `${this.warningsLeftOut} more warnings left out.` });
    }
    return { items: this.items, skipped: this.skipped, warnings: this.warnings };
  }

  /** The instant a task is due for a time: a whole day is due at 23:59 on the person's clock. */
  dueOf(time: IcsTime): number {
    if (time.kind === "date-time") return instantOf(time, this.options.zone);
    const { year, month, day } = time.wall;
    return wallInstant(this.options.zone, { year, month, day, hour: 23, minute: 59 });
  }

  add(entry: Entry, recurrenceKey: string, at: Occurrence | undefined): void {
    const key = `${entry.uid}\u0000${recurrenceKey}`;
    const existing = this.keys.get(key);
    const due = at ? this.dueOf(at.time) : entry.due ? this.dueOf(entry.due) : undefined;
    const timed = at?.time.kind === "date-time" && entry.durationMs > 0;
    const item: PlannedItem = {
      uid: entry.uid,
      recurrenceKey,
      title: entry.title,
      description: entry.description,
      dueAt: due === undefined ? null : new Date(due).toISOString(),
      estimatedMinutes: timed
        ? Math.min(MAX_ESTIMATE_MINUTES, Math.round(entry.durationMs / MINUTE_MS))
        : null,
      priority: entry.priority,
      sequence: entry.sequence,
      line: entry.line,
    };
    if (existing !== undefined) {
      const earlier = this.items[existing];
      this.warn(
        entry.line,
        `UID ${quotedUid(entry.uid)} appears more than once: the version with the highest SEQUENCE is imported.`,
      );
      if (earlier && earlier.sequence <= item.sequence) this.items[existing] = item;
      return;
    }
    if (this.items.length >= this.options.maxItems) throw new TooManyItemsError(this.options.maxItems);
    this.keys.set(key, this.items.length);
    this.items.push(item);
  }

  /** The dates of an RDATE or EXDATE, counted against the import's allowance. */
  dates(property: ContentLine): IcsTime[] {
    const values = parseTimeList(property, this.context);
    this.dateValues += values.length;
    if (this.dateValues > MAX_DATE_VALUES) {
      throw new IcsSyntaxError(
        property.line,
        `The calendar lists more than ${MAX_DATE_VALUES} RDATE and EXDATE values; split it into smaller files.`,
      );
    }
    return values;
  }

  read(component: IcsComponent, kind: "VEVENT" | "VTODO"): Entry {
    const title = cutText((textOf(component, "SUMMARY") ?? "").replace(/\s+/g, " ").trim(), TITLE_MAX);
    const itemLine = propertyOf(component, "DTSTART")?.line ?? component.line;
    const time = (name: string) => {
      const property = propertyOf(component, name);
      return property ? parseTimeValue(property.value, property, this.context) : undefined;
    };
    const start = time("DTSTART");
    const end = kind === "VEVENT" ? time("DTEND") : undefined;
    const due = kind === "VTODO" ? time("DUE") : undefined;
    const durationProperty = propertyOf(component, "DURATION");
    let durationMs = durationProperty ? parseDuration(durationProperty) : 0;
    if (start && end) durationMs = instantOf(end, this.options.zone) - instantOf(start, this.options.zone);
    else if (kind === "VEVENT" && start?.kind === "date" && !durationProperty) durationMs = DAY_MS;
    const recurrenceId = time("RECURRENCE-ID");

    let uid = textOf(component, "UID")?.trim() ?? "";
    if (uid === "") {
      uid = `generated-${fnv1a(`${title}|${propertyOf(component, "DTSTART")?.value ?? ""}`)}`;
      this.warn(
        component.line,
        `${kind} on line ${component.line} has no UID: importing it again may create it again.`,
      );
    }
    const location = textOf(component, "LOCATION")?.trim();
    const body = [textOf(component, "DESCRIPTION")?.trim(), location ? `Location: ${location}` : undefined]
      .filter((part): part is string => !!part)
      .join("\n\n");

    const rules = propertiesOf(component, "RRULE");
    let rule: RRule | undefined;
    let unsupportedRule: Entry["unsupportedRule"];
    const [firstRule] = rules;
    const shown = title || "(no title)";
    if (firstRule) {
      const parsed = parseRRule(firstRule, this.context);
      if (!parsed.ok) {
        if (kind === "VTODO") this.warn(firstRule.line, `Recurring to-dos are imported once: "${shown}".`);
        else unsupportedRule = { part: parsed.unsupported, line: firstRule.line };
      } else if (kind === "VTODO") {
        this.warn(firstRule.line, `Recurring to-dos are imported once: "${shown}".`);
      } else rule = parsed.rule;
      if (rules.length > 1)
        this.warn(rules[1]?.line ?? null, `"${shown}" has several RRULEs: only the first is followed.`);
    }
    const rdates: IcsTime[] = [];
    for (const property of propertiesOf(component, "RDATE")) {
      if (paramOf(property, "VALUE")?.toUpperCase() === "PERIOD") {
        this.warn(property.line, `RDATE periods are not supported: they are left out of "${shown}".`);
      } else if (kind === "VEVENT") rdates.push(...this.dates(property));
    }
    const exdates = propertiesOf(component, "EXDATE").flatMap((p) => this.dates(p));

    const status = textOf(component, "STATUS")?.trim().toUpperCase();
    const sequenceText = propertyOf(component, "SEQUENCE")?.value.trim() ?? "";
    let skip: string | undefined;
    if (textOf(component, KIND_PROPERTY)?.trim() === "focus-session") skip = "focus sessions from a feed";
    else if (textOf(component, STATUS_PROPERTY)?.trim() === "completed") skip = "tasks already completed";
    else if (status === "CANCELLED") skip = "cancelled items";
    else if (kind === "VTODO" && (status === "COMPLETED" || propertyOf(component, "COMPLETED"))) {
      skip = "to-dos already completed";
    } else if (kind === "VEVENT" && !start) skip = "events without a start (DTSTART)";

    return {
      kind,
      uid,
      title: title || "(no title)",
      description: body === "" ? null : cutText(body, DESCRIPTION_MAX),
      start,
      durationMs,
      due,
      recurrenceId,
      rule,
      unsupportedRule,
      rdates,
      exdates,
      sequence: SEQUENCE.test(sequenceText) ? Number(sequenceText) : 0,
      priority: priorityOf(propertyOf(component, "PRIORITY")?.value.trim()),
      skip,
      line: itemLine,
    };
  }

  /** A to-do: one task, due at DUE, else at the end of its duration, else at its start. */
  planTodo(entry: Entry): void {
    if (entry.skip) {
      this.skip(entry.skip);
      return;
    }
    let due = entry.due;
    if (!due && entry.start) {
      const end = instantOf(entry.start, this.options.zone) + entry.durationMs;
      if (end > LAST_DUE_MS) {
        throw new IcsSyntaxError(entry.line, `"${entry.title}" would be due after the year 9999.`);
      }
      due =
        entry.durationMs > 0
          ? { kind: "date-time", wall: wallOfUtc(end), zone: "UTC", floating: false }
          : entry.start;
    }
    this.add({ ...entry, due }, recurrenceKeyOf(entry, this.options.zone), undefined);
  }

  /** An event and its occurrences within the window; `overrides` replace the occurrences they name. */
  planEvent(master: Entry | undefined, overrides: Entry[]): void {
    const { now } = this.options;
    const to = now + IMPORT_WINDOW_DAYS * DAY_MS;
    const inWindow = (entry: Entry, instant: number) =>
      instant + Math.max(entry.durationMs, 0) > now && instant <= to;
    // A RECURRENCE-ID names its occurrence in the series' kind: a date-time on an all-day series means
    // that date, a date on a timed series that day at the series' time.
    const seriesStart = master?.start;
    if (seriesStart) {
      for (const override of overrides) {
        if (override.recurrenceId) override.recurrenceId = inKindOf(seriesStart, override.recurrenceId);
      }
    }
    const replaced = new Map(
      overrides.map((o) => [occurrenceKey(o.recurrenceId as IcsTime, this.options.zone), o]),
    );
    for (const override of overrides) {
      if (override.skip || !override.start) {
        this.skip(override.skip ?? "events without a start (DTSTART)");
        continue;
      }
      const instant = instantOf(override.start, this.options.zone);
      if (!inWindow(override, instant)) this.skip("events already over, or more than 60 days ahead");
      else
        this.add(override, recurrenceKeyOf(override, this.options.zone), { time: override.start, instant });
    }
    if (!master) return;
    if (master.skip || !master.start) {
      this.skip(master.skip ?? "events without a start (DTSTART)");
      return;
    }
    const series = master.rule !== undefined || master.rdates.length > 0;
    if (!series) {
      const instant = instantOf(master.start, this.options.zone);
      const over = instant + Math.max(master.durationMs, 0) <= now;
      const unsupported = master.unsupportedRule;
      if (unsupported) {
        // Its later occurrences cannot be computed: say what is done with its first one (DTSTART).
        this.warn(
          unsupported.line,
          over
            ? `RRULE ${unsupported.part} is not supported and the first occurrence of "${master.title}" is over: it is not imported.`
            : `RRULE ${unsupported.part} is not supported: "${master.title}" is imported once, at its first occurrence.`,
        );
      }
      if (over) this.skip("events already over");
      else this.add(master, "", { time: master.start, instant });
      return;
    }
    if (master.unsupportedRule) {
      this.warn(
        master.unsupportedRule.line,
        `RRULE ${master.unsupportedRule.part} is not supported: only the first occurrence and the RDATEs of "${master.title}" are imported.`,
      );
    }
    const { occurrences, truncated, incomplete } = expand({
      start: master.start,
      rule: master.rule,
      rdates: master.rdates,
      exdates: master.exdates,
      zone: this.options.zone,
      from: now,
      to,
      durationMs: master.durationMs,
      maxOccurrences: MAX_OCCURRENCES_PER_SERIES,
      budget: this.budget,
    });
    if (incomplete) {
      this.warn(
        master.line,
        `"${master.title}" has too many occurrences to follow them all: some may be missing.`,
      );
    }
    if (truncated) {
      this.warn(
        master.line,
        `"${master.title}" recurs more than ${MAX_OCCURRENCES_PER_SERIES} times in the next ${IMPORT_WINDOW_DAYS} days: the first ${MAX_OCCURRENCES_PER_SERIES} are imported.`,
      );
    }
    for (const occurrence of occurrences) {
      const key = occurrenceKey(occurrence.time, this.options.zone);
      if (replaced.has(key)) continue;
      this.add(master, recurrenceKey(occurrence.time, this.options.zone), occurrence);
    }
  }
}

/** `time` as the occurrence of a series starting at `start` it names (RECURRENCE-ID, §3.8.4.4). */
function inKindOf(start: IcsTime, time: IcsTime): IcsTime {
  if (start.kind === time.kind) return time;
  const { year, month, day } = time.wall;
  if (start.kind === "date")
    return { kind: "date", wall: { year, month, day, hour: 0, minute: 0, second: 0 } };
  return { ...start, wall: { ...start.wall, year, month, day } };
}

function wallOfUtc(ms: number) {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** How an occurrence is named in the import's records: its date, or its start in UTC. */
export function recurrenceKey(time: IcsTime, zone: string): string {
  return time.kind === "date" ? dateOf(time.wall).replaceAll("-", "") : formatUtc(instantOf(time, zone));
}

const recurrenceKeyOf = (entry: Entry, zone: string) =>
  entry.recurrenceId ? recurrenceKey(entry.recurrenceId, zone) : "";

/** What an import reads; the rest (VTIMEZONE, VALARM, VJOURNAL …) is checked but not kept. */
const IMPORTED_COMPONENTS: ReadonlySet<string> = new Set(["VEVENT", "VTODO"]);

/**
 * The import an .ics text asks for. Throws IcsSyntaxError (with its line) for a file that is not
 * iCalendar or holds an impossible value, TooManyItemsError past `maxItems`.
 */
export function planImport(text: string, options: PlanOptions): ImportPlan {
  const root = parseIcs(text, { keep: IMPORTED_COMPONENTS });
  const planner = new Planner({ maxItems: MAX_IMPORT_ITEMS, ...options });
  const events = new Map<string, { master?: Entry; overrides: Entry[] }>();
  // Planned in the file's order; an event with its overrides where its UID first appears.
  const order: (Entry | string)[] = [];
  for (const component of root.components) {
    if (component.name !== "VEVENT" && component.name !== "VTODO") continue;
    const entry = planner.read(component, component.name);
    if (entry.kind === "VTODO") {
      order.push(entry);
      continue;
    }
    const series = events.get(entry.uid) ?? { overrides: [] };
    if (!events.has(entry.uid)) order.push(entry.uid);
    events.set(entry.uid, series);
    if (entry.recurrenceId) series.overrides.push(entry);
    else if (series.master && series.master.sequence > entry.sequence) {
      planner.warn(
        entry.line,
        `UID ${quotedUid(entry.uid)} appears more than once: the version with the highest SEQUENCE is imported.`,
      );
    } else {
      if (series.master) {
        planner.warn(
          entry.line,
          `UID ${quotedUid(entry.uid)} appears more than once: the version with the highest SEQUENCE is imported.`,
        );
      }
      series.master = entry;
    }
  }
  for (const unit of order) {
    if (typeof unit !== "string") planner.planTodo(unit);
    else {
      const series = events.get(unit);
      if (series) planner.planEvent(series.master, series.overrides);
    }
  }
  return planner.finish();
}
