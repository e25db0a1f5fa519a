/**
 * What one domain event adds to a user's rollups and to its task's time record, as pure rules: the
 * analytics event handler turns the answer into guarded upserts. XP is not here: it is read in SQL from
 * the ledger rows the gamification handler wrote for the same event, earlier in the same batch.
 */
import type { EnergyLevel, RollupDimension } from "../../db/schema";
import type { DomainEvent, EventType } from "../../lib/events/catalog";
import { localParts } from "../../lib/time";
import type { Counters } from "./rollup-queries";

/** The events the rollups count (pet.fed pays no XP, and assignment moves reach them through task.completed). */
export const ANALYTICS_EVENT_TYPES = [
  "task.created",
  "task.completed",
  "step.completed",
  "focus.completed",
  "focus.abandoned",
  "xp.manual",
  "energy.logged",
] as const satisfies readonly EventType[];

/** How far back a check-in still tells the user's energy for the energy slice. */
export const ENERGY_WINDOW_MS = 4 * 3_600_000;

/** Counters an event sets by itself (XP and the timed counters are computed in SQL). */
export type EventCounters = Partial<
  Pick<
    Counters,
    | "tasksCreated"
    | "tasksCompleted"
    | "stepsCompleted"
    | "focusSeconds"
    | "focusSessions"
    | "focusCompleted"
    | "interruptions"
    | "energyLow"
    | "energyMedium"
    | "energyHigh"
  >
>;

/** What an event adds to its task's time record (analytics_task_times). */
export interface TaskTimeDelta {
  stepsCompleted: number;
  stepMinutes: number;
  focusSeconds: number;
  focusSessions: number;
  /** The task's estimate as the event knows it (null: the event does not say). */
  estimatedMinutes: number | null;
  /**
   * Set by task.completed: the minutes reported for the task, when it was completed, and the estimate
   * its timed counters compare the actual minutes with (null: no estimate, never timed).
   */
  completion?: { reportedMinutes: number | null; completedAt: string; timedEstimate: number | null };
}

export interface EventRollup {
  /**
   * The instant the event counts at (its local day and hour): when it happened, when a check-in was
   * felt, or when a focus session started.
   */
  at: string;
  /** When the event's XP was earned, if not at `at`: a focus session is paid when it ends (the ledger's time). */
  xpAt?: string;
  taskId: string | null;
  counters: EventCounters;
  /** A check-in is its own energy slice. */
  energy?: EnergyLevel;
  taskTime?: TaskTimeDelta;
  /**
   * A completion counts once, as its XP does: only when this event paid the source (`step:<id>`,
   * `task:<id>`). A step reopened and completed again adds nothing, exactly as it earns nothing.
   */
  countsOnceAs?: string;
}

const ENERGY_COUNTER = { low: "energyLow", medium: "energyMedium", high: "energyHigh" } as const;

/** What `event` adds to the rollups. */
export function rollupOf(event: DomainEvent): EventRollup {
  const at = event.occurred_at;
  switch (event.type) {
    case "task.created":
      return { at, taskId: event.data.task_id, counters: { tasksCreated: 1 } };
    case "task.completed": {
      const estimate = event.data.estimated_minutes;
      return {
        at,
        taskId: event.data.task_id,
        counters: { tasksCompleted: 1 },
        taskTime: {
          ...NO_TIME,
          estimatedMinutes: estimate,
          completion: {
            reportedMinutes: event.data.actual_minutes,
            completedAt: at,
            timedEstimate: estimate !== null && estimate > 0 ? estimate : null,
          },
        },
        countsOnceAs: `task:${event.data.task_id}`,
      };
    }
    case "step.completed":
      return {
        at,
        taskId: event.data.task_id,
        counters: { stepsCompleted: 1 },
        taskTime: {
          ...NO_TIME,
          stepsCompleted: 1,
          stepMinutes: event.data.estimated_minutes,
          estimatedMinutes: event.data.task_estimated_minutes,
        },
        countsOnceAs: `step:${event.data.step_id}`,
      };
    case "focus.completed":
    case "focus.abandoned": {
      const seconds = focusSecondsOf(event.data.actual_minutes);
      const taskId = event.data.task_id;
      // The session counts when it was started (patterns speak of the sessions you start); its XP
      // stays where gamification's ledger puts it, at the end (the event's time).
      return {
        at: event.data.started_at,
        xpAt: at,
        taskId,
        counters: {
          focusSeconds: seconds,
          focusSessions: 1,
          focusCompleted: event.type === "focus.completed" ? 1 : 0,
          interruptions: event.data.interruptions,
        },
        ...(taskId
          ? { taskTime: { ...NO_TIME, focusSeconds: seconds, focusSessions: 1, estimatedMinutes: null } }
          : {}),
      };
    }
    case "energy.logged":
      return {
        at: event.data.at,
        taskId: null,
        counters: { [ENERGY_COUNTER[event.data.level]]: 1 },
        energy: event.data.level,
      };
    default:
      // xp.manual (and anything else the handler is given): only the XP it earned.
      return { at, taskId: null, counters: {} };
  }
}

const NO_TIME: Omit<TaskTimeDelta, "estimatedMinutes"> = {
  stepsCompleted: 0,
  stepMinutes: 0,
  focusSeconds: 0,
  focusSessions: 0,
};

/** Focus events carry minutes to a tenth; rollups keep whole seconds. */
export const focusSecondsOf = (minutes: number) => Math.max(0, Math.round(minutes * 60));

export interface Slice {
  dim: RollupDimension;
  key: string;
}

/** Where an event lands: the local day of its instant, and the slices of that day it adds to. */
export function slicesOf(
  rollup: EventRollup,
  known: { timezone: string; category: string | null; energy: EnergyLevel | null },
): { day: string; slices: Slice[] } {
  const parsed = Date.parse(rollup.at);
  const local = localParts(known.timezone, Number.isNaN(parsed) ? Date.now() : parsed);
  const slices: Slice[] = [
    { dim: "all", key: "" },
    { dim: "hour", key: String(local.hour).padStart(2, "0") },
  ];
  if (known.category) slices.push({ dim: "category", key: known.category });
  const energy = rollup.energy ?? known.energy;
  if (energy) slices.push({ dim: "energy", key: energy });
  return { day: local.date, slices };
}

/**
 * The actual minutes of a completed task: the minutes reported for it (by the user, or by the agent
 * that completed it), else the focus time spent on it rounded to the minute, else unknown (null).
 * The handler applies the same rule in SQL (`ACTUAL_MINUTES_SQL`); this is the one written definition.
 */
export function actualMinutesOf(reportedMinutes: number | null, focusSeconds: number): number | null {
  if (reportedMinutes !== null) return reportedMinutes;
  const focus = Math.round(focusSeconds / 60);
  return focus > 0 ? focus : null;
}

/** Which of the two the actual minutes came from. */
export function actualSourceOf(
  reportedMinutes: number | null,
  focusSeconds: number,
): "reported" | "focus" | null {
  if (reportedMinutes !== null) return "reported";
  return actualMinutesOf(null, focusSeconds) === null ? null : "focus";
}
