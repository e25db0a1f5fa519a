import { NOTIFICATION_KINDS, type NotificationKind } from "../../db/schema/notifications";

/** Whether one kind shows in the inbox and whether it is pushed. */
export interface KindChoice {
  in_app: boolean;
  push: boolean;
}

/** "HH:MM" on the user's wall clock. */
export interface QuietHours {
  start: string;
  end: string;
}

export interface Preferences {
  kinds: Record<NotificationKind, KindChoice>;
  quiet_hours: QuietHours | null;
  daily_cap: number;
  digest: "off" | "daily";
  /** Minutes before a task's due time that a due_soon reminder fires (largest first). */
  due_soon_minutes: number[];
}

export const DEFAULT_DAILY_CAP = 20;
export const DEFAULT_DUE_SOON_MINUTES = [60, 15];
/** The furthest ahead a due-soon reminder may fire: "soon" is hours, a day ahead is the digest's job. */
export const MAX_DUE_SOON_MINUTES = 240;
/** When the daily digest goes out for someone without quiet hours (their local time). */
export const DIGEST_TIME = "08:00";

export function defaultPreferences(): Preferences {
  const kinds = Object.fromEntries(
    NOTIFICATION_KINDS.map((k) => [k, { in_app: true, push: true }]),
  ) as Record<NotificationKind, KindChoice>;
  // Suggestions are gentle by default: in the inbox, never a buzz.
  kinds.suggestion = { in_app: true, push: false };
  return {
    kinds,
    quiet_hours: null,
    daily_cap: DEFAULT_DAILY_CAP,
    digest: "daily",
    due_soon_minutes: [...DEFAULT_DUE_SOON_MINUTES],
  };
}

/** A stored row's choices over the defaults (kinds added after the row was written take their default). */
export function preferencesOf(
  row:
    | {
        kinds: Partial<Record<string, KindChoice>>;
        quietStart: string | null;
        quietEnd: string | null;
        dailyCap: number;
        digest: "off" | "daily";
        dueSoonMinutes: number[];
      }
    | null
    | undefined,
): Preferences {
  const defaults = defaultPreferences();
  if (!row) return defaults;
  const kinds = { ...defaults.kinds };
  for (const kind of NOTIFICATION_KINDS) {
    const stored = row.kinds[kind];
    if (stored) kinds[kind] = { in_app: stored.in_app, push: stored.push };
  }
  return {
    kinds,
    quiet_hours: row.quietStart && row.quietEnd ? { start: row.quietStart, end: row.quietEnd } : null,
    daily_cap: row.dailyCap,
    digest: row.digest,
    due_soon_minutes: row.dueSoonMinutes,
  };
}
