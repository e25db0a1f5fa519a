/**
 * Focus session kinds, their limits, the per-user settings and the break rules. Pure: no I/O.
 * Numbers come from the product brief (PRODUCT.md, BE-03): pomodoro 25/5 with a 15-minute long
 * break after every 4 work sessions, deep work 50–90, short burst 10–15, custom 5–90, flowtime
 * open-ended with a break proportional to the time worked.
 */

import type { SessionKind } from "../../db/schema/focus";

export { SESSION_KINDS, type SessionKind } from "../../db/schema/focus";

export interface FocusSettings {
  pomodoro_work_minutes: number;
  short_break_minutes: number;
  long_break_minutes: number;
  long_break_every: number;
  deep_work_minutes: number;
  short_burst_minutes: number;
  /** A flowtime break is this share of the time worked (at least MIN_BREAK_MINUTES). */
  flowtime_break_percent: number;
}

export const DEFAULT_SETTINGS: FocusSettings = {
  pomodoro_work_minutes: 25,
  short_break_minutes: 5,
  long_break_minutes: 15,
  long_break_every: 4,
  deep_work_minutes: 50,
  short_burst_minutes: 15,
  flowtime_break_percent: 20,
};

/** Inclusive bounds of each setting; the HTTP schema and the settings store both use them. */
export const SETTING_LIMITS: Record<keyof FocusSettings, readonly [number, number]> = {
  pomodoro_work_minutes: [5, 90],
  short_break_minutes: [1, 30],
  long_break_minutes: [5, 60],
  long_break_every: [2, 10],
  deep_work_minutes: [50, 90],
  short_burst_minutes: [10, 15],
  flowtime_break_percent: [10, 50],
};

/** How long a work session of each kind may be planned for, in minutes (null: open-ended). */
export const KIND_LIMITS: Record<SessionKind, readonly [number, number] | null> = {
  pomodoro: [5, 90],
  deep_work: [50, 90],
  short_burst: [10, 15],
  flowtime: null,
  custom: [5, 90],
};

export const MIN_BREAK_MINUTES = 1;
/** Breaks after deep work, short bursts and custom sessions are a fifth of the work, at most this. */
export const MAX_PROPORTIONAL_BREAK_MINUTES = 20;
const PROPORTIONAL_BREAK_SHARE = 0.2;

/**
 * A flowtime session has no planned end, but one left running all day is a forgotten timer, not
 * focus: it ends itself (as completed) after this long.
 */
export const FLOWTIME_CAP_MINUTES = 240;
/** A session paused this long was forgotten: it ends (not completed) so the next start is not blocked. */
export const MAX_PAUSE_MINUTES = 60;
/** Extending may not push a work session's plan past this, nor a break past MAX_BREAK_MINUTES. */
export const MAX_PLANNED_MINUTES = 240;
export const MAX_BREAK_MINUTES = 60;
/**
 * Pomodoros started within this long of the previous one's break ending belong to the same run, so
 * the fourth in a row earns the long break; after a longer gap the count starts again.
 */
export const RUN_GAP_MINUTES = 60;

/** Seconds as minutes with one decimal, the way every focus figure is shown. */
export const minutesOf = (seconds: number) => Math.round(seconds / 6) / 10;

export interface KindDescription {
  kind: SessionKind;
  name: string;
  description: string;
  default_minutes: number | null;
  min_minutes: number | null;
  max_minutes: number | null;
}

/** The kinds as a client shows them, with this user's defaults. */
export function describeKinds(settings: FocusSettings): KindDescription[] {
  const bounds = (kind: SessionKind) => {
    const limits = KIND_LIMITS[kind];
    return { min_minutes: limits?.[0] ?? null, max_minutes: limits?.[1] ?? null };
  };
  return [
    {
      kind: "pomodoro",
      name: "Pomodoro",
      description: `${settings.pomodoro_work_minutes} minutes of work, then a ${settings.short_break_minutes}-minute break; every ${settings.long_break_every}th break is ${settings.long_break_minutes} minutes.`,
      default_minutes: settings.pomodoro_work_minutes,
      ...bounds("pomodoro"),
    },
    {
      kind: "deep_work",
      name: "Deep work",
      description: "A long block (50–90 minutes) for hard thinking, then a break of a fifth of it.",
      default_minutes: settings.deep_work_minutes,
      ...bounds("deep_work"),
    },
    {
      kind: "short_burst",
      name: "Short burst",
      description: "10–15 minutes to get something started when starting is the hard part.",
      default_minutes: settings.short_burst_minutes,
      ...bounds("short_burst"),
    },
    {
      kind: "flowtime",
      name: "Flowtime",
      description: `Open-ended: work until you stop; the break is ${settings.flowtime_break_percent}% of the time worked.`,
      default_minutes: null,
      ...bounds("flowtime"),
    },
    {
      kind: "custom",
      name: "Custom",
      description: "Any length from 5 to 90 minutes.",
      default_minutes: null,
      ...bounds("custom"),
    },
  ];
}

export type PlanResult = { ok: true; minutes: number | null } | { ok: false; field: string; message: string };

/** The planned work minutes for a start request, or why the request is not valid for its kind. */
export function plannedMinutes(
  kind: SessionKind,
  requested: number | undefined,
  settings: FocusSettings,
): PlanResult {
  const limits = KIND_LIMITS[kind];
  if (!limits) {
    return requested === undefined
      ? { ok: true, minutes: null }
      : { ok: false, field: "duration_minutes", message: "A flowtime session is open-ended; leave it out" };
  }
  const defaults: Record<SessionKind, number | undefined> = {
    pomodoro: settings.pomodoro_work_minutes,
    deep_work: settings.deep_work_minutes,
    short_burst: settings.short_burst_minutes,
    flowtime: undefined,
    custom: undefined,
  };
  const minutes = requested ?? defaults[kind];
  if (minutes === undefined) {
    return { ok: false, field: "duration_minutes", message: `A ${kind} session needs a duration` };
  }
  const [min, max] = limits;
  if (!Number.isInteger(minutes) || minutes < min || minutes > max) {
    return {
      ok: false,
      field: "duration_minutes",
      message: `A ${kind.replace("_", " ")} session lasts ${min}–${max} minutes`,
    };
  }
  return { ok: true, minutes };
}

export type BreakKind = "short" | "long";

/**
 * The break that follows a work session. `completedInRun` counts the work sessions completed in
 * this run, this one included (pomodoro's long break comes after every Nth).
 */
export function breakAfter(
  kind: SessionKind,
  workedMinutes: number,
  completedInRun: number,
  settings: FocusSettings,
): { kind: BreakKind; minutes: number } {
  if (kind === "pomodoro") {
    return completedInRun > 0 && completedInRun % settings.long_break_every === 0
      ? { kind: "long", minutes: settings.long_break_minutes }
      : { kind: "short", minutes: settings.short_break_minutes };
  }
  if (kind === "flowtime") {
    const minutes = Math.round((workedMinutes * settings.flowtime_break_percent) / 100);
    return { kind: "short", minutes: Math.min(MAX_BREAK_MINUTES, Math.max(MIN_BREAK_MINUTES, minutes)) };
  }
  const minutes = Math.round(workedMinutes * PROPORTIONAL_BREAK_SHARE);
  return {
    kind: "short",
    minutes: Math.min(MAX_PROPORTIONAL_BREAK_MINUTES, Math.max(MIN_BREAK_MINUTES, minutes)),
  };
}

/** Settings with any missing or out-of-range value replaced by its default. */
export function normalizeSettings(partial: Partial<FocusSettings> | null | undefined): FocusSettings {
  const out = { ...DEFAULT_SETTINGS };
  if (!partial) return out;
  for (const key of Object.keys(SETTING_LIMITS) as (keyof FocusSettings)[]) {
    const value = partial[key];
    const [min, max] = SETTING_LIMITS[key];
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)
      out[key] = value;
  }
  return out;
}
