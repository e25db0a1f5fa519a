import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import { TASK_CATEGORIES } from "./tasks";

/** The energy scale of check-ins, the splitter and the models: one scale everywhere. */
export const ENERGY_SCALE = ["low", "medium", "high"] as const;
export type EnergyLevel = (typeof ENERGY_SCALE)[number];

/**
 * How a rollup row slices a local day: `all` is the day's total (key ""), `hour` the local hour
 * ("00"–"23"), `category` the task's category, `energy` the user's energy at the time (their latest
 * check-in within a few hours).
 */
export const ROLLUP_DIMENSIONS = ["all", "hour", "category", "energy"] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/**
 * Insight's one set of rollups (BE-06): counters per user, local day and slice, kept by the analytics
 * event handler exactly once per event (its receipt). Every analytics read comes from these rows,
 * never from raw history; the day totals (`dim = 'all'`) also replace the old all-time activity stats.
 */
export const analyticsRollups = sqliteTable(
  "analytics_rollups",
  {
    userId: text("user_id").notNull(),
    /** The user's local date (YYYY-MM-DD) in their time zone when the event happened. */
    day: text("day").notNull(),
    dim: text("dim", { enum: ROLLUP_DIMENSIONS }).notNull(),
    key: text("key").notNull().default(""),
    tasksCreated: integer("tasks_created").notNull().default(0),
    tasksCompleted: integer("tasks_completed").notNull().default(0),
    stepsCompleted: integer("steps_completed").notNull().default(0),
    xp: integer("xp").notNull().default(0),
    focusSeconds: integer("focus_seconds").notNull().default(0),
    focusSessions: integer("focus_sessions").notNull().default(0),
    focusCompleted: integer("focus_completed").notNull().default(0),
    interruptions: integer("interruptions").notNull().default(0),
    energyLow: integer("energy_low").notNull().default(0),
    energyMedium: integer("energy_medium").notNull().default(0),
    energyHigh: integer("energy_high").notNull().default(0),
    /** Completed tasks with both an estimate and an actual time: their sums, and how many finished in time. */
    timedTasks: integer("timed_tasks").notNull().default(0),
    estimatedMinutes: integer("estimated_minutes").notNull().default(0),
    actualMinutes: integer("actual_minutes").notNull().default(0),
    onTimeTasks: integer("on_time_tasks").notNull().default(0),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.day, t.dim, t.key] }),
    // The nightly training cron's scan: who was active since a date (day totals only).
    index("analytics_rollups_active").on(t.day, t.userId).where(sql`${t.dim} = 'all'`),
    check("analytics_rollups_dim_check", sql`${t.dim} IN ('all','hour','category','energy')`),
  ],
);

/**
 * Estimated against actual time per task (time tracking): the task's estimate, what its completed
 * steps were estimated at, focus time spent on it, and the actual minutes reported (by the user or by
 * an agent), kept by the analytics event handler as the events arrive.
 */
export const analyticsTaskTimes = sqliteTable(
  "analytics_task_times",
  {
    userId: text("user_id").notNull(),
    taskId: text("task_id").notNull(),
    category: text("category", { enum: TASK_CATEGORIES }),
    estimatedMinutes: integer("estimated_minutes"),
    stepsCompleted: integer("steps_completed").notNull().default(0),
    stepMinutes: integer("step_minutes").notNull().default(0),
    focusSeconds: integer("focus_seconds").notNull().default(0),
    focusSessions: integer("focus_sessions").notNull().default(0),
    reportedMinutes: integer("reported_minutes"),
    completedAt: text("completed_at"),
    /**
     * Where the completion's timed counters live and what they hold, so that focus time arriving after
     * the completion (queues do not keep order) corrects them: the local day and the slices
     * (`[[dim, key], …]`, JSON) the completion was counted on, the estimate it was timed against (null:
     * none, never timed), and the actual minutes now in the rollups (null: not timed yet).
     */
    countedDay: text("counted_day"),
    countedSlices: text("counted_slices", { mode: "json" }).$type<[string, string][]>(),
    countedEstimate: integer("counted_estimate"),
    countedActual: integer("counted_actual"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.taskId] }),
    index("analytics_task_times_user_completed").on(t.userId, t.completedAt),
  ],
);

/** Energy check-ins (POST /analytics/energy): what the energy models learn from. */
export const energyCheckins = sqliteTable(
  "energy_checkins",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    level: text("level", { enum: ENERGY_SCALE }).notNull(),
    /** When the user felt it (defaults to when it was said). */
    at: text("at").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    // `id` last: the export pages check-ins by (at, id) with no sort.
    index("energy_checkins_user_at").on(t.userId, t.at, t.id),
    check("energy_checkins_level_check", sql`${t.level} IN ('low','medium','high')`),
  ],
);

export const MODEL_KINDS = ["duration", "difficulty", "energy", "best_time"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
/** The user id of models trained on everyone (the population model new users get). */
export const POPULATION = "*";

/**
 * Trained models (BE-13), versioned per user and kind: parameters, held-out metrics against the
 * baselines, and whether this version answers predictions. One promoted version per (user, kind).
 */
export const learningModels = sqliteTable(
  "learning_models",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    kind: text("kind", { enum: MODEL_KINDS }).notNull(),
    version: integer("version").notNull(),
    algorithm: text("algorithm").notNull(),
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    metrics: text("metrics", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    promoted: integer("promoted", { mode: "boolean" }).notNull().default(false),
    trainSamples: integer("train_samples").notNull(),
    testSamples: integer("test_samples").notNull(),
    trainedAt: text("trained_at").notNull(),
  },
  (t) => [
    uniqueIndex("learning_models_user_kind_version").on(t.userId, t.kind, t.version),
    index("learning_models_promoted").on(t.userId, t.kind).where(sql`${t.promoted} = 1`),
  ],
);

/** `running`: a consumer took the run (queued → running, once); TypeScript-only, the column has no CHECK. */
export const TRAINING_STATUSES = ["queued", "running", "done", "skipped", "failed"] as const;

/** One training per user per night: the row the cron claims before it enqueues the job. */
export const learningRuns = sqliteTable(
  "learning_runs",
  {
    userId: text("user_id").notNull(),
    /** The UTC date of the night the run belongs to. */
    night: text("night").notNull(),
    status: text("status", { enum: TRAINING_STATUSES }).notNull().default("queued"),
    /** Wall time of the training itself (the Worker's CPU time is close to it: no I/O inside). */
    trainingMs: real("training_ms"),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    queuedAt: text("queued_at").notNull(),
    finishedAt: text("finished_at"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.night] })],
);

/** Every prediction answered, with the model that answered; scored when the truth arrives. */
export const predictionLog = sqliteTable(
  "prediction_log",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    kind: text("kind", { enum: MODEL_KINDS }).notNull(),
    /** What was predicted about: a task id, or a local hour for energy. */
    subject: text("subject").notNull(),
    modelId: text("model_id").notNull(),
    predicted: real("predicted").notNull(),
    actual: real("actual"),
    absError: real("abs_error"),
    createdAt: text("created_at").notNull(),
    scoredAt: text("scored_at"),
  },
  (t) => [
    // One logged prediction per subject and model: asking again reads the same row.
    uniqueIndex("prediction_log_subject_model").on(t.userId, t.kind, t.subject, t.modelId),
  ],
);
