/**
 * Hours (the original API's unit for tasks and assignments) and minutes (ours), and the rule that
 * keeps micro-steps micro: a longer step from an original client becomes parts of at most 10 minutes.
 */

/** The longest micro-step this API stores (db/schema/tasks.ts, micro_steps_minutes_check). */
export const MAX_STEP_MINUTES = 10;
/**
 * Hours accepted in a body: the largest minutes value any schema takes (100,000) in hours, as answers
 * round it (1666.67 h → 100,000 min), so whatever an answer shows can be sent back.
 */
export const MAX_HOURS = 1666.67;

export function minutesFromHours(hours: number): number {
  return Math.max(1, Math.round(hours * 60));
}

export function hoursFromMinutes(minutes: number | null | undefined): number | null {
  if (minutes === null || minutes === undefined) return null;
  return Math.round((minutes / 60) * 100) / 100;
}

/**
 * Minutes given both ways in one body must agree (within a minute); the caller names the field in its
 * 422 when they do not. Returns the minutes to store, or undefined when neither was given.
 */
export function reconcileMinutes(
  minutes: number | null | undefined,
  hours: number | null | undefined,
): { ok: true; minutes: number | null | undefined } | { ok: false } {
  if (hours === undefined || hours === null) return { ok: true, minutes };
  const fromHours = minutesFromHours(hours);
  if (minutes !== undefined && minutes !== null && Math.abs(minutes - fromHours) > 1) return { ok: false };
  return { ok: true, minutes: minutes ?? fromHours };
}

export interface StepPart {
  description: string;
  estimated_minutes: number;
  /** True on the first part only: the step's label and icon belong to where it begins. */
  first: boolean;
}

/**
 * A step of `minutes` as micro-steps of at most 10 minutes, as even as whole minutes allow (25 → 9, 8, 8),
 * each saying which part it is. A step that already fits is itself, unchanged.
 */
export function partsOf(description: string, minutes: number): StepPart[] {
  const whole = Math.max(1, Math.round(minutes));
  if (whole <= MAX_STEP_MINUTES) return [{ description, estimated_minutes: whole, first: true }];
  const count = Math.ceil(whole / MAX_STEP_MINUTES);
  const base = Math.floor(whole / count);
  const extra = whole - base * count;
  return Array.from({ length: count }, (_, i) => {
    const suffix = ` (part ${i + 1} of ${count})`;
    return {
      description: fitDescription(description, suffix),
      estimated_minutes: base + (i < extra ? 1 : 0),
      first: i === 0,
    };
  });
}

/** Step descriptions are at most 500 characters: the part's suffix always shows. */
const MAX_DESCRIPTION = 500;
function fitDescription(description: string, suffix: string): string {
  const room = MAX_DESCRIPTION - suffix.length;
  const head = description.length > room ? `${description.slice(0, room - 1).trimEnd()}…` : description;
  return `${head}${suffix}`;
}
