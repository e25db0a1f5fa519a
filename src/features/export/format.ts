/**
 * The account export format (BE-09), version 1: the contract between the export job that writes it
 * and the restore that reads it back. Everything a reader needs is here — the document's sections,
 * which tables are exported (in an order a restore can insert them), the shape of each row (derived
 * from the D1 schema, so a column added later is in the contract at once), the tables deliberately
 * left out and why, and the live state of the Durable Objects.
 *
 * The document (UTF-8 JSON, one row per line; a reader must not rely on the whitespace):
 *
 *   {"format":"proxy-agent-platform.export","version":1,"export_id":…,"exported_at":…,
 *    "account":{…the users row, without password_hash…},
 *    "tables":{
 *    "tasks":[
 *    {…row…},
 *    {…row…}
 *    ],
 *    "micro_steps":[ … ]
 *    },
 *    "live":{"focus":{…FocusSnapshot…},"pet":{…PetSnapshot…}},
 *    "summary":{"rows":…,"counts":{"tasks":…},"tables":[…],"excluded":{…}}}
 *
 * Rows carry the database's own column names and stored values: text as strings, INTEGER and REAL
 * as numbers, booleans as 0/1, JSON columns as their JSON text, timestamps as the ISO-8601 strings
 * stored. Every exported table appears under "tables" (empty when the user has no rows), in
 * EXPORTED_TABLES order. `summary.counts` says how many rows each table has in the file: a reader
 * that counts fewer was cut short.
 */
import { z } from "@hono/zod-openapi";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import * as schema from "../../db/schema";
import { END_REASONS, SESSION_KINDS } from "../../db/schema/focus";
import { PET_SPECIES } from "../../db/schema/pets";
import { isValidTimeZone } from "../../lib/time";
import { MAX_BREAK_MINUTES, MAX_PLANNED_MINUTES } from "../focus/kinds";
import { MAX_LOGGED_INTERRUPTIONS } from "../focus/machine";
import { INTERRUPTION_NOTE_CHARS } from "../focus/schemas";
import { MAX_STAT } from "../pets/care";
import { MAX_PET_LEVEL } from "../pets/growth";
import { PET_NAME_CHARS } from "../pets/schemas";

export const EXPORT_FORMAT = "proxy-agent-platform.export";
export const EXPORT_VERSION = 1;

/** One table as it is exported: how its rows are found and paged, and what is left out. */
export interface ExportedTable {
  name: string;
  table: SQLiteTable;
  /**
   * The keyset a job pages by (never OFFSET): unique among the user's rows, never changed once
   * written, and served in order by an index that starts with the owner.
   */
  key: readonly string[];
  /** Credential columns left out of every row (the reason is in OMITTED_COLUMNS). */
  omit?: readonly string[];
  /** How rows are found: by their `user_id` (default), or through the user's templates. */
  owner?: "user_id" | "template";
  /** Rows per page read; smaller for tables whose rows are large. */
  pageSize?: number;
}

/**
 * Every table a user's data lives in, parents before children (a restore can insert in this order).
 * The users row is the document's "account", not a table here.
 */
export const EXPORTED_TABLES: readonly ExportedTable[] = [
  { name: "tasks", table: schema.tasks, key: ["id"] },
  { name: "micro_steps", table: schema.microSteps, key: ["id"] },
  { name: "task_dependencies", table: schema.taskDependencies, key: ["task_id", "depends_on_id"] },
  { name: "task_templates", table: schema.taskTemplates, key: ["id"] },
  { name: "template_steps", table: schema.templateSteps, key: ["template_id", "id"], owner: "template" },
  { name: "agents", table: schema.agents, key: ["agent_id"] },
  { name: "task_assignments", table: schema.taskAssignments, key: ["task_id", "id"] },
  { name: "assignment_notes", table: schema.assignmentNotes, key: ["assignment_id", "id"] },
  { name: "focus_settings", table: schema.focusSettings, key: ["user_id"] },
  { name: "focus_sessions", table: schema.focusSessions, key: ["id"] },
  { name: "user_pets", table: schema.userPets, key: ["id"] },
  { name: "pet_interactions", table: schema.petInteractions, key: ["id"] },
  { name: "user_progress", table: schema.userProgress, key: ["user_id"] },
  { name: "xp_ledger", table: schema.xpLedger, key: ["id"] },
  { name: "gamification_stats", table: schema.gamificationStats, key: ["user_id"] },
  { name: "activity_days", table: schema.activityDays, key: ["day"] },
  { name: "user_badges", table: schema.userBadges, key: ["badge_id"] },
  { name: "challenge_progress", table: schema.challengeProgress, key: ["challenge_id"] },
  { name: "notification_preferences", table: schema.notificationPreferences, key: ["user_id"] },
  { name: "onboarding_profiles", table: schema.onboardingProfiles, key: ["user_id"] },
  { name: "notifications", table: schema.notifications, key: ["key"], pageSize: 500 },
  { name: "webhooks", table: schema.webhooks, key: ["id"], omit: ["secret", "previous_secret"] },
  { name: "calendar_imports", table: schema.calendarImports, key: ["uid", "recurrence_key"] },
  { name: "energy_checkins", table: schema.energyCheckins, key: ["at", "id"] },
  { name: "analytics_rollups", table: schema.analyticsRollups, key: ["day", "dim", "key"] },
  { name: "analytics_task_times", table: schema.analyticsTaskTimes, key: ["task_id"] },
  { name: "task_splits", table: schema.taskSplits, key: ["task_id", "id"], pageSize: 200 },
  { name: "step_feedback", table: schema.stepFeedback, key: ["step_id"] },
  { name: "split_preferences", table: schema.splitPreferences, key: ["category"] },
  { name: "learning_models", table: schema.learningModels, key: ["kind", "version"], pageSize: 20 },
  { name: "prediction_log", table: schema.predictionLog, key: ["kind", "subject", "model_id"] },
  // Both hold a value unique across the platform, like a template's share code (template_shares, not
  // exported): a share's `code` (its public /s/<code> link) and a profile's `handle_key` (the handle,
  // lower-cased). They are exported as the person's own record; a restore gives a restored share a new
  // code (the old link keeps naming the old account's share, or nothing) and drops a handle someone
  // else holds by then (the profile comes back without one, off, for the person to choose again).
  { name: "social_shares", table: schema.socialShares, key: ["id"] },
  { name: "social_profiles", table: schema.socialProfiles, key: ["user_id"] },
];

/** Columns of exported rows that are credentials: never written to a file that leaves the platform. */
export const OMITTED_COLUMNS: Readonly<Record<string, string>> = {
  "users.password_hash": "a password hash is a credential; the file may be stored anywhere",
  "webhooks.secret":
    "signing secrets are credentials; a restored endpoint gets a new one (receivers must update it)",
  "webhooks.previous_secret": "as webhooks.secret",
};

/**
 * Tables that hold a user's rows but are left out, with the reason. Credentials never leave; the
 * rest is plumbing that means nothing outside this deployment, or that a restore must not replay.
 */
export const EXCLUDED_TABLES: Readonly<Record<string, string>> = {
  refresh_tokens: "credentials (hashes of login refresh tokens); a restored account signs in afresh",
  api_tokens:
    "credentials (hashes of API tokens, shown once); tokens cannot move to another account — mint new ones",
  calendar_feeds: "the calendar feed's secret URL is a credential; make a new feed after a restore",
  calendar_feed_items:
    "bookkeeping of what the secret feed served (ETags, SEQUENCE numbers); meaningless without the feed",
  push_subscriptions: "browser push endpoints and their encryption keys are credentials of one browser",
  push_devices: "Expo push tokens address one phone; the app registers again after signing in",
  events:
    "the outbox of domain events: a delivery pipeline, not a record — every fact it carries is in its own " +
    "exported table, and a restore must not send them again (webhooks, XP)",
  webhook_deliveries:
    "the delivery log of webhooks (kept 30 days), with receivers' answers; operational, not the user's data",
  webhook_attempts: "as webhook_deliveries: one row per delivery attempt",
  notification_pushes: "per-device push delivery state of notifications (the notifications are exported)",
  reminder_claims: "claims that make a due-soon reminder fire once; a job's bookkeeping",
  idempotency_keys: "stored answers to retried requests, forgotten after 24 hours",
  learning_runs: "the nightly training job's claims and timings; the models it trained are exported",
  exports: "the export jobs themselves (cursors, leases): this file is their product",
  dead_letters: "queue messages that failed for good, kept for operators",
  template_shares:
    "a template's share code is a public link unique across the platform; share the restored template again",
  template_share_uses:
    "who imported whose template by code: it keeps a person counted once on someone else's template",
  imports: "the import jobs themselves (previews, cursors): what they brought in is in tasks",
  import_items: "an import's staging of external ids; its tasks are exported as tasks",
  room_members:
    "memberships of live focus rooms: a room is shared with other people and lives only while they meet",
};

/** Tables with no user's rows: shared definitions and operational state. */
export const SHARED_TABLES: Readonly<Record<string, string>> = {
  badges: "badge definitions, the same for everyone",
  xp_levels: "the level curve, the same for everyone",
  bonus_events: "bonus XP windows created by administrators, for everyone",
  login_throttles: "failed sign-in counters keyed by address and account, expiring within the hour",
  event_receipts: "which event handler ran for which event: keyed by event, delivery bookkeeping",
  batch_guards: "never holds a row (a batch's abort switch)",
  account_guards: "never holds a row (a write's abort switch when its account is gone)",
  route_metrics: "request counts and latencies per route template: operational, about no one",
  slow_queries: "slow statements' texts with placeholders, never values: operational, about no one",
  rooms: "focus rooms are shared by their members and belong to none of them (memberships are per person)",
};

/** Tables of the database engine and the migrations tool, not of the application. */
export const INTERNAL_TABLE = /^(sqlite_|_cf_|d1_migrations$)/;

/** The users row without its credential: the document's "account". */
export const ACCOUNT_OMIT: readonly string[] = ["password_hash"];

/** The table spec of an exported table by its SQL name. */
export function exportedTable(name: string): ExportedTable | undefined {
  return EXPORTED_TABLES.find((t) => t.name === name);
}

function columnSchema(column: SQLiteColumn): z.ZodType {
  const enumValues = (column as { enumValues?: string[] }).enumValues;
  let base: z.ZodType;
  switch (column.columnType) {
    case "SQLiteInteger":
    case "SQLiteBoolean":
    case "SQLiteTimestamp":
      base = z.number().int();
      break;
    case "SQLiteReal":
      base = z.number();
      break;
    default:
      base = enumValues && enumValues.length > 0 ? z.enum(enumValues as [string, ...string[]]) : z.string();
  }
  if (!column.notNull) base = base.nullable();
  // Older files may lack a column added since: the database's default fills it in.
  return column.notNull && !column.hasDefault ? base : base.optional();
}

const rowSchemas = new Map<string, z.ZodType<Record<string, unknown>>>();

function buildRowSchema(table: SQLiteTable, omit: readonly string[]): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const column of getTableConfig(table).columns) {
    if (!omit.includes(column.name)) shape[column.name] = columnSchema(column);
  }
  // Unknown keys are refused: a reader inserts rows by their keys, which must be this table's columns.
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
}

/** The shape of one exported row of `name` (or of the account, for "users"); undefined for others. */
export function rowSchema(name: string): z.ZodType<Record<string, unknown>> | undefined {
  const cached = rowSchemas.get(name);
  if (cached) return cached;
  const spec =
    name === "users"
      ? { table: schema.users as SQLiteTable, omit: ACCOUNT_OMIT }
      : exportedTable(name) && {
          table: exportedTable(name)?.table as SQLiteTable,
          omit: exportedTable(name)?.omit ?? [],
        };
  if (!spec) return undefined;
  const built = buildRowSchema(spec.table, spec.omit);
  rowSchemas.set(name, built);
  return built;
}

/** The stored columns of a table, in the database's order (from the schema). */
export function columnsOf(table: SQLiteTable): string[] {
  return getTableConfig(table).columns.map((c) => c.name);
}

// ---------------------------------------------------------------------------------------------------
// The live state held by Durable Objects. Times inside are milliseconds since the Unix epoch (UTC),
// as the objects keep them.
//
// A restore reads these from a file a person uploads: everything is bounded here as the API bounds
// it (lengths, counts, the machines' own caps), so a file can never put into an object what the
// API could not — nor a value that breaks it (a time past the year 275760, a break of 10^12 minutes).

/** Version of each live snapshot: a restore refuses a newer one. */
export const LIVE_VERSION = 1;

/**
 * How far past the reader's clock a stored time may lie: the pet's cooldowns run up to 15 minutes
 * ahead of the moment they were set, and the exporting server's clock may run a little ahead.
 */
export const LIVE_FUTURE_MARGIN_MS = 60 * 60_000;
/** Counts (pauses, interruptions, sessions in a run) past any real use: a bound, not a rule. */
const MAX_COUNT = 100_000;
/** Treats and total XP a pet may carry in a file: far past a decade of daily work, far under 2^53. */
export const MAX_PET_XP = 100_000_000;
const ID_CHARS = 100;
const MINUTE_MS = 60_000;

const Id = z.string().min(1).max(ID_CHARS);
/** A moment: not before the epoch, not after the reader's clock (plus the margin). */
const Millis = z
  .number()
  .int()
  .min(0)
  .refine((ms) => ms <= Date.now() + LIVE_FUTURE_MARGIN_MS, "a time later than now");
/** A duration within a cap of the machine's. */
const Duration = (maxMinutes: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(maxMinutes * MINUTE_MS);
const Count = z.number().int().min(0).max(MAX_COUNT);
/** An instant as the focus records keep it: ISO-8601 UTC, as `toISOString` writes it. */
const IsoInstant = z
  .string()
  .max(30)
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/, "an ISO-8601 UTC time")
  .refine((iso) => Date.parse(iso) <= Date.now() + LIVE_FUTURE_MARGIN_MS, "a time later than now");
/** An interruption's note, as POST …/interrupt takes it. */
const Note = z.string().max(INTERRUPTION_NOTE_CHARS).nullable();

/** Whole numbers; out-of-range values are replaced by the defaults when restored (normalizeSettings). */
const FocusSettingsSchema = z.object({
  pomodoro_work_minutes: z.number().int(),
  short_break_minutes: z.number().int(),
  long_break_minutes: z.number().int(),
  long_break_every: z.number().int(),
  deep_work_minutes: z.number().int(),
  short_burst_minutes: z.number().int(),
  flowtime_break_percent: z.number().int(),
});

const WorkSessionSchema = z.object({
  session_id: Id,
  kind: z.enum(SESSION_KINDS),
  planned_ms: Duration(MAX_PLANNED_MINUTES).nullable(),
  extended_ms: Duration(MAX_PLANNED_MINUTES),
  started_at: Millis,
  running_since: Millis.nullable(),
  banked_ms: Duration(MAX_PLANNED_MINUTES),
  paused_at: Millis.nullable(),
  pauses: Count,
  // Each pause ends itself after MAX_PAUSE_MINUTES; resumed pauses add up, within reason.
  paused_ms: Duration(7 * 24 * 60),
  interruptions: Count,
  interruption_log: z.array(z.object({ at: Millis, note: Note })).max(MAX_LOGGED_INTERRUPTIONS),
  task_id: Id.nullable(),
  step_id: Id.nullable(),
});

const BreakPhaseSchema = z.object({
  kind: z.enum(["short", "long"]),
  planned_ms: Duration(MAX_BREAK_MINUTES),
  started_at: Millis,
  after_session_id: Id,
});

const FocusRecordSchema = z.object({
  session_id: Id,
  user_id: Id,
  kind: z.enum(SESSION_KINDS),
  planned_minutes: z.number().int().min(0).max(MAX_PLANNED_MINUTES).nullable(),
  // A session's work never passes its plan (or flowtime's cap): both at most MAX_PLANNED_MINUTES.
  actual_seconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_PLANNED_MINUTES * 60),
  completed: z.boolean(),
  end_reason: z.enum(END_REASONS),
  interruptions: Count,
  interruption_log: z.array(z.object({ at: IsoInstant, note: Note })).max(MAX_LOGGED_INTERRUPTIONS),
  pauses: Count,
  paused_seconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600),
  extended_minutes: z.number().int().min(0).max(MAX_PLANNED_MINUTES),
  cycle: Count,
  task_id: Id.nullable(),
  step_id: Id.nullable(),
  started_at: IsoInstant,
  ended_at: IsoInstant,
});

const TimerStateSchema = z
  .object({
    user_id: Id,
    work: WorkSessionSchema.nullable(),
    break: BreakPhaseSchema.nullable(),
    run_count: Count,
    run_kind: z.enum(SESSION_KINDS).nullable(),
    last_ended_at: Millis.nullable(),
    settings: FocusSettingsSchema,
    last_record: FocusRecordSchema.nullable(),
  })
  .refine((t) => !(t.work && t.break), {
    message: "a timer is in a work session or on a break, never both",
    path: ["break"],
  });

/**
 * Everything the user's FocusTimer holds that is theirs: the settings, and the timer (a running work
 * session or break, the run it belongs to, the last session recorded), or null when it never ran.
 * Not included: the message log for reconnecting sockets, idempotency answers, socket tickets — a
 * device's plumbing.
 *
 * Restoring one keeps the settings, the run and the last session shown; a work session or break in
 * progress at export time is NOT restored (the timer comes back idle): its time belongs to the moment
 * it ran, and replaying it would complete it — and pay XP and feed the pet — for time not worked here.
 */
export const FocusSnapshotSchema = z.object({
  version: z.number().int().positive(),
  settings: FocusSettingsSchema,
  timer: TimerStateSchema.nullable(),
});
export type FocusSnapshot = z.infer<typeof FocusSnapshotSchema>;

/** As the pet routes and the personality writer bound them (pets/schemas.ts, pets/personality.ts). */
const PersonalitySchema = z.object({
  name_suggestion: z.string().max(30),
  temperament: z.enum(["energetic", "calm", "patient"]),
  traits: z.array(z.string().max(30)).max(3),
  dialogue_style: z.string().max(160),
  backstory: z.string().max(600),
  generated_by: z.enum(["ai", "local"]),
});

const Stat = z.number().min(0).max(MAX_STAT);
const PetXp = z.number().int().min(0).max(MAX_PET_XP);

const PetDataSchema = z.object({
  pet_id: Id,
  user_id: Id,
  species: z.enum(PET_SPECIES),
  name: z.string().trim().min(1).max(PET_NAME_CHARS),
  // `${user_id}:${pet_id}` as the pet was adopted.
  seed: z
    .string()
    .min(1)
    .max(2 * ID_CHARS + 1),
  timezone: z.string().min(1).max(64).refine(isValidTimeZone, "not an IANA time zone this server knows"),
  level: z.number().int().min(1).max(MAX_PET_LEVEL),
  xp: PetXp,
  total_xp: PetXp,
  stage: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  auto_evolve: z.boolean(),
  fullness: Stat,
  happiness: Stat,
  stats_at: Millis,
  treats: PetXp,
  needs_attention: z.boolean(),
  play_ready_at: Millis,
  pet_ready_at: Millis,
  fed_event_ready_at: Millis,
  personality: PersonalitySchema.nullable(),
  created_at: Millis,
  // Kept since the original clients' compatibility (issue 19): older snapshots lack it.
  last_fed_at: Millis.nullable().optional(),
});

/**
 * Everything the user's PetState holds that is theirs: the pet — care (fullness, happiness and when
 * they were true), growth (level, XP, stage, treats), cooldowns, personality — or null without one.
 * Not included: socket plumbing and the ids of work already fed (they guard against a redelivered
 * event; a restored pet is fed only by new work).
 *
 * Growth in a file is trusted only within the rules: a restore recomputes the level and the XP into it
 * from `total_xp` by the growth curve (the file's `level` and `xp` are not taken), keeps the stage no
 * higher than that level allows, and bounds treats and total XP by MAX_PET_XP. The file is the
 * person's own data — they could have edited it as they could edit its XP ledger — so a restored
 * pet's growth is the file's, made consistent, not re-earned.
 */
export const PetSnapshotSchema = z.object({
  version: z.number().int().positive(),
  pet: PetDataSchema.nullable(),
});
export type PetSnapshot = z.infer<typeof PetSnapshotSchema>;

/** The document's "live" section. */
export const LiveSectionSchema = z.object({ focus: FocusSnapshotSchema, pet: PetSnapshotSchema });
export type LiveSection = z.infer<typeof LiveSectionSchema>;

/** The document's top-level fields other than "tables" (what a reader gets besides rows). */
export const ExportHeaderSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.number().int().positive(),
  export_id: z.string(),
  exported_at: z.string(),
  account: z.record(z.string(), z.unknown()),
});

export const ExportSummarySchema = z.object({
  rows: z.number().int().nonnegative(),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  tables: z.array(z.string()),
  excluded: z.record(z.string(), z.string()),
});
export type ExportSummary = z.infer<typeof ExportSummarySchema>;

// ---------------------------------------------------------------------------------------------------
// CSV: the tasks and their steps, for a spreadsheet. Not a restore format: free text that a spreadsheet
// would run as a formula is prefixed with an apostrophe (csv.ts), which cannot be told apart afterwards
// from an apostrophe the person typed. The JSON document is the full backup and the restore format.

/**
 * One header, then each task followed by its steps (`type` says which). A step's `task_id` is its
 * task's; `title` is the task's title or the step's description. Deleted tasks are left out.
 */
export const CSV_COLUMNS = [
  "type",
  "task_id",
  "step_id",
  "step_number",
  "title",
  "description",
  "status",
  "priority",
  "category",
  "tags",
  "estimated_minutes",
  "actual_minutes",
  "due_at",
  "completed_at",
  "created_at",
  "updated_at",
  "parent_task_id",
  "depends_on",
  "delegation_mode",
  "assigned_to",
  "leaf_type",
  "short_label",
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
