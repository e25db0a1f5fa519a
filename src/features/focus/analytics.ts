/**
 * Focus analytics over a user's recorded sessions, in the user's own time zone. Pure: the service
 * reads the rows, this does the arithmetic.
 */
import { NO_FREEZES, streakState } from "../../lib/streaks";
import { addDays, type LocalDate, localParts, startOfLocalDay } from "../../lib/time";
import { minutesOf, type SessionKind } from "./kinds";

export interface SessionFacts {
  kind: SessionKind;
  started_at: string;
  actual_seconds: number;
  completed: boolean;
  interruptions: number;
}

export interface FocusAnalytics {
  timezone: string;
  range: { from: LocalDate; to: LocalDate };
  today: { date: LocalDate; focus_minutes: number; sessions: number };
  week: { starts_on: LocalDate; focus_minutes: number; sessions: number };
  totals: {
    focus_minutes: number;
    sessions: number;
    completed_sessions: number;
    /** Share of sessions finished (not abandoned), 0–1; null with no sessions. */
    completion_rate: number | null;
    average_minutes: number | null;
    interruptions: number;
    interruptions_per_hour: number | null;
  };
  by_kind: { kind: SessionKind; sessions: number; focus_minutes: number; completion_rate: number }[];
  /** Up to three local hours of the day with the most focus time in the range, best first. */
  best_hours: { hour: number; focus_minutes: number; sessions: number; completion_rate: number }[];
  /** Consecutive local days with at least one completed session. */
  streak: { current_days: number; longest_days: number; last_focus_date: LocalDate | null };
}

const BEST_HOURS = 3;

const ratio = (part: number, whole: number) => Math.round((part / whole) * 1000) / 1000;

interface Bucket {
  seconds: number;
  sessions: number;
  completed: number;
}
const emptyBucket = (): Bucket => ({ seconds: 0, sessions: 0, completed: 0 });
function addTo(bucket: Bucket, s: SessionFacts) {
  bucket.seconds += s.actual_seconds;
  bucket.sessions += 1;
  bucket.completed += s.completed ? 1 : 0;
}

/** The focus streak: consecutive local days with a completed session (no freezes), today open until over. */
export function focusStreak(days: ReadonlySet<LocalDate>, today: LocalDate): FocusAnalytics["streak"] {
  const s = streakState(days, today, NO_FREEZES);
  return { current_days: s.current_days, longest_days: s.longest_days, last_focus_date: s.last_active_day };
}

export function focusAnalytics(
  sessions: readonly SessionFacts[],
  options: { timezone: string; now: number; from: LocalDate; to: LocalDate },
): FocusAnalytics {
  const { timezone, now, from, to } = options;
  const today = localParts(timezone, now).date;
  const weekStart = addDays(today, 1 - localParts(timezone, now).weekday);
  const rangeStart = startOfLocalDay(timezone, from);
  const rangeEnd = startOfLocalDay(timezone, addDays(to, 1));

  const todayBucket = emptyBucket();
  const weekBucket = emptyBucket();
  const range = emptyBucket();
  let interruptions = 0;
  const byKind = new Map<SessionKind, Bucket>();
  const byHour = new Map<number, Bucket>();
  const focusDays = new Set<LocalDate>();

  for (const s of sessions) {
    const at = Date.parse(s.started_at);
    const local = localParts(timezone, at);
    if (s.completed) focusDays.add(local.date);
    if (local.date === today) addTo(todayBucket, s);
    if (local.date >= weekStart && local.date <= today) addTo(weekBucket, s);
    if (at < rangeStart || at >= rangeEnd) continue;
    addTo(range, s);
    interruptions += s.interruptions;
    const kind = byKind.get(s.kind) ?? emptyBucket();
    addTo(kind, s);
    byKind.set(s.kind, kind);
    const hour = byHour.get(local.hour) ?? emptyBucket();
    addTo(hour, s);
    byHour.set(local.hour, hour);
  }

  const focusHours = range.seconds / 3600;
  return {
    timezone,
    range: { from, to },
    today: { date: today, focus_minutes: minutesOf(todayBucket.seconds), sessions: todayBucket.sessions },
    week: {
      starts_on: weekStart,
      focus_minutes: minutesOf(weekBucket.seconds),
      sessions: weekBucket.sessions,
    },
    totals: {
      focus_minutes: minutesOf(range.seconds),
      sessions: range.sessions,
      completed_sessions: range.completed,
      completion_rate: range.sessions ? ratio(range.completed, range.sessions) : null,
      average_minutes: range.sessions ? minutesOf(range.seconds / range.sessions) : null,
      interruptions,
      interruptions_per_hour: focusHours > 0 ? Math.round((interruptions / focusHours) * 100) / 100 : null,
    },
    by_kind: [...byKind.entries()]
      .sort(([, a], [, b]) => b.seconds - a.seconds)
      .map(([kind, b]) => ({
        kind,
        sessions: b.sessions,
        focus_minutes: minutesOf(b.seconds),
        completion_rate: ratio(b.completed, b.sessions),
      })),
    best_hours: [...byHour.entries()]
      .sort(([ha, a], [hb, b]) => b.seconds - a.seconds || b.completed - a.completed || ha - hb)
      .slice(0, BEST_HOURS)
      .map(([hour, b]) => ({
        hour,
        focus_minutes: minutesOf(b.seconds),
        sessions: b.sessions,
        completion_rate: ratio(b.completed, b.sessions),
      })),
    streak: focusStreak(focusDays, today),
  };
}
