import { validationFailed } from "../../lib/errors";

/** How late a completion may be reported (an app that was offline syncs it later). */
export const MAX_LATE_COMPLETION_DAYS = 7;

/** A device's clock may run a little ahead of ours: a "just now" from it is not a future time. */
const CLOCK_SKEW_MS = 60_000;

/**
 * A reported completion time, checked: not in the future, not older than the window. The time comes
 * back in ms, never after `now`. Whether it predates the step is checked where the step is read.
 */
export function lateCompletionTime(reported: string, now: number): number {
  const at = Date.parse(reported);
  if (at > now + CLOCK_SKEW_MS)
    throw validationFailed([{ field: "completed_at", message: "Must not be in the future" }]);
  if (at < now - MAX_LATE_COMPLETION_DAYS * 86_400_000) {
    throw validationFailed([
      { field: "completed_at", message: `Must be within the last ${MAX_LATE_COMPLETION_DAYS} days` },
    ]);
  }
  return Math.min(at, now);
}
