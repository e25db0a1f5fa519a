/**
 * Local date ranges and the buckets of a timeline, as pure rules: every analytics read works on the
 * user's local calendar (weeks start on Monday; months are calendar months).
 */
import { validationFailed } from "../../lib/errors";
import { addDays, daysBetween, type LocalDate } from "../../lib/time";
import { MAX_RANGE_DAYS } from "./rollup-queries";

/** What a range defaults to when `from` is not given: the last 30 days through `to`. */
export const DEFAULT_RANGE_DAYS = 30;

export const BUCKETS = ["day", "week", "month"] as const;
export type Bucket = (typeof BUCKETS)[number];

export interface LocalRange {
  from: LocalDate;
  to: LocalDate;
}

/**
 * The range asked for, with defaults (`to`: today; `from`: DEFAULT_RANGE_DAYS days through `to`);
 * 422 naming `from` when it is after `to`, or when the range spans more than MAX_RANGE_DAYS days.
 */
export function resolveRange(
  query: { from?: LocalDate | undefined; to?: LocalDate | undefined },
  today: LocalDate,
  defaultDays = DEFAULT_RANGE_DAYS,
): LocalRange {
  const to = query.to ?? today;
  const from = query.from ?? addDays(to, 1 - defaultDays);
  checkOrder(from, to);
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) {
    throw validationFailed(
      [{ field: "from", message: `The range may span at most ${MAX_RANGE_DAYS} days` }],
      `from: the range from ${from} to ${to} spans more than ${MAX_RANGE_DAYS} days; ask for a shorter one.`,
    );
  }
  return { from, to };
}

/** 422 naming `from` when it is after `to` (either may be absent: nothing to compare). */
export function checkOrder(from: LocalDate | undefined, to: LocalDate | undefined): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw validationFailed(
      [{ field: "from", message: "Must not be after `to`" }],
      `from (${from}) must not be after to (${to}).`,
    );
  }
}

/** ISO weekday of a date: 1 = Monday … 7 = Sunday. */
export function weekdayOf(date: LocalDate): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
}

/** The Monday of the week `date` falls in. */
export const mondayOf = (date: LocalDate): LocalDate => addDays(date, 1 - weekdayOf(date));

/** The first day of the bucket `date` falls in. */
export function bucketStartOf(date: LocalDate, bucket: Bucket): LocalDate {
  if (bucket === "day") return date;
  if (bucket === "week") return mondayOf(date);
  return `${date.slice(0, 7)}-01`;
}

/** The last day of the bucket starting on `start`. */
function bucketEndOf(start: LocalDate, bucket: Bucket): LocalDate {
  if (bucket === "day") return start;
  if (bucket === "week") return addDays(start, 6);
  const [y, m] = start.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

export interface BucketSpan {
  /** The bucket's key: its first calendar day (a Monday, the 1st), even when the range starts later. */
  starts_on: LocalDate;
  /** The bucket's days inside the range. */
  from: LocalDate;
  to: LocalDate;
}

// Dates as "YYYY-MM-DD" order as text (Math.min/max would not).
const laterOf = (a: LocalDate, b: LocalDate) => [a, b].sort()[1] ?? a;
export const earlierOf = (a: LocalDate, b: LocalDate) => [a, b].sort()[0] ?? a;

/** Every bucket that meets the range, in order, empty ones included; the first and last clipped to it. */
export function bucketsOf(range: LocalRange, bucket: Bucket): BucketSpan[] {
  const spans: BucketSpan[] = [];
  let start = bucketStartOf(range.from, bucket);
  while (start <= range.to) {
    const end = bucketEndOf(start, bucket);
    spans.push({
      starts_on: start,
      from: laterOf(start, range.from),
      to: earlierOf(end, range.to),
    });
    start = addDays(end, 1);
  }
  return spans;
}
