import type { NotificationKind, NotificationStatus, PushState } from "../../db/schema/notifications";
import { localClock } from "../../lib/time";
import { DIGEST_TIME, type Preferences } from "./preferences";
import { nextDigestAt, quietUntil } from "./quiet-hours";

/** Where one notification goes, before the daily cap is counted (the write counts it, atomically). */
export interface Placement {
  status: Extract<NotificationStatus, "delivered" | "deferred">;
  deliverAt: number;
  /** The user's local date of delivery: the cap is per local day. */
  localDay: string;
  inApp: boolean;
  pushState: PushState;
  countsTowardCap: boolean;
  /** What it becomes when the day's cap is already reached: waiting for the digest, or silent in the inbox. */
  overCap: { status: Extract<NotificationStatus, "folded" | "delivered">; deliverAt: number };
}

/**
 * Where a notification of `kind` goes for this user now, or null when they turned the kind off on
 * every channel. Quiet hours defer it to their end (never drop it); the cap sends it to the next digest
 * (or, with digests off, silently to the inbox). Digests themselves are never capped.
 */
export function placeNotification(
  kind: NotificationKind,
  preferences: Preferences,
  timeZone: string,
  now: number,
): Placement | null {
  const choice = preferences.kinds[kind];
  if (!choice.in_app && !choice.push) return null;
  const quietEnd = quietUntil(now, timeZone, preferences.quiet_hours);
  const deliverAt = quietEnd ?? now;
  const digestAt = nextDigestAt(deliverAt, timeZone, preferences.quiet_hours, DIGEST_TIME);
  return {
    status: quietEnd === null ? "delivered" : "deferred",
    deliverAt,
    localDay: localClock(timeZone, deliverAt).date,
    inApp: choice.in_app,
    pushState: choice.push ? "pending" : "none",
    countsTowardCap: kind !== "digest",
    overCap:
      preferences.digest === "daily"
        ? { status: "folded", deliverAt: digestAt }
        : { status: "delivered", deliverAt },
  };
}
