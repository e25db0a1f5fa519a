/**
 * The API's own field rules, applied to restored rows (review3 M3): what the database takes but the
 * API never writes — a `due_at` that is no time (the calendar feed then answers 500 for good), `tags`
 * that are not a list of strings (GET /tasks then breaks its own OpenAPI schema), a title of 100,000
 * characters. The rules are the feature schemas' own (request limits, response shapes of JSON
 * columns), so they cannot drift; timestamps and calendar dates are checked by their column's name for
 * every exported table.
 */
import { z } from "@hono/zod-openapi";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import { IsoTimestamp } from "../../../lib/iso-timestamp";
import { OnboardingBodySchema, OnboardingSchema } from "../../compat/onboarding-schemas";
import {
  AddNoteBodySchema,
  AGENT_AUTHOR_PATTERN,
  AgentName,
  AgentSchema,
  OWNER_AUTHOR,
} from "../../delegation/schemas";
import { exportedTable } from "../../export/format";
import { NotificationSchema, PreferencesSchema } from "../../notifications/schemas";
import { SocialProfileSchema } from "../../social/schemas";
import { StepInputSchema, taskFields } from "../../tasks/schemas";
import { CreateTemplateBodySchema, TemplateStepInputSchema } from "../../templates/schemas";
import { CreateWebhookBodySchema, WebhookSchema } from "../../webhooks/schemas";

/** Text columns as the API's requests limit them, and JSON columns (parsed) as its responses show them. */
const FIELD_SCHEMAS: Readonly<Record<string, Readonly<Record<string, z.ZodType>>>> = {
  tasks: {
    title: taskFields.title,
    description: taskFields.description,
    tags: taskFields.tags,
  },
  micro_steps: {
    description: StepInputSchema.shape.description,
    short_label: StepInputSchema.shape.short_label,
    icon: StepInputSchema.shape.icon,
  },
  // Every writer cuts a template's name to the limit (templates/service.ts); its description is not
  // (saved from a task), so only the name is held to the request's rule.
  task_templates: { name: CreateTemplateBodySchema.shape.name },
  template_steps: {
    description: TemplateStepInputSchema.shape.description,
    short_label: TemplateStepInputSchema.shape.short_label,
    icon: TemplateStepInputSchema.shape.icon,
    // A template step may be up to an hour (it becomes ≤10-minute parts when applied).
    estimated_minutes: TemplateStepInputSchema.shape.estimated_minutes,
  },
  agents: { capabilities: AgentSchema.shape.capabilities, name: AgentName },
  // As POST …/assignments/{id}/notes takes them (trimmed, 1–5000 characters); `author` is "owner" or
  // `agent:<agent_id>` (the writer checks it names the assignment's own agent).
  assignment_notes: {
    text: AddNoteBodySchema.shape.text,
    author: z.union([z.literal(OWNER_AUTHOR), z.string().regex(AGENT_AUTHOR_PATTERN)]),
  },
  notifications: { channels: NotificationSchema.shape.channels, data: NotificationSchema.shape.data },
  notification_preferences: {
    // Stored per kind chosen (preferences.ts fills the rest with defaults).
    kinds: PreferencesSchema.shape.kinds.partial(),
    due_soon_minutes: PreferencesSchema.shape.due_soon_minutes,
  },
  webhooks: {
    url: CreateWebhookBodySchema.shape.url,
    description: CreateWebhookBodySchema.shape.description,
    event_types: WebhookSchema.shape.event_types,
  },
  social_profiles: { showcase: SocialProfileSchema.shape.showcase },
  // As the onboarding PUT takes them; a schedule holds only the keys the PUT keeps.
  onboarding_profiles: {
    work_preference: OnboardingSchema.shape.work_preference,
    adhd_support_level: OnboardingBodySchema.shape.adhd_support_level,
    adhd_challenges: OnboardingBodySchema.shape.adhd_challenges.unwrap().unwrap(),
    daily_schedule: OnboardingSchema.shape.daily_schedule.unwrap().strict(),
    productivity_goals: OnboardingBodySchema.shape.productivity_goals.unwrap().unwrap(),
  },
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Calendar-date columns; those whose default is "" (nothing counted yet) may be empty. */
const DATE_COLUMNS = new Set(["day", "local_day", "date", "counted_day", "week_start", "board_day"]);
const MAY_BE_EMPTY = new Set(["week_start", "board_day"]);

/**
 * What IsoTimestamp accepts. The stored form (toISOString's, which IsoTimestamp writes) is recognised by
 * its round trip, a fraction of the schema's time on the millions of timestamps of a big file.
 */
function isTimestamp(value: unknown): boolean {
  if (typeof value !== "string") return false;
  const ms = Date.parse(value);
  if (!Number.isNaN(ms) && value.length === 24 && new Date(ms).toISOString() === value) return true;
  return IsoTimestamp.safeParse(value).success;
}

const isDate = (v: string) => DATE.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`));

interface FieldRule {
  column: string;
  json: boolean;
  check: (value: unknown) => string | null;
}

const cache = new Map<string, FieldRule[]>();

function fieldRulesOf(table: string): FieldRule[] {
  const cached = cache.get(table);
  if (cached) return cached;
  const rules: FieldRule[] = [];
  const spec = exportedTable(table);
  const schemas = FIELD_SCHEMAS[table] ?? {};
  for (const column of spec ? getTableConfig(spec.table).columns : []) {
    const name = column.name;
    const json = column.columnType === "SQLiteTextJson";
    const schema = schemas[name];
    if (schema) {
      rules.push({
        column: name,
        json,
        check: (value) => {
          const parsed = schema.safeParse(value);
          if (parsed.success) return null;
          const issue = parsed.error.issues[0];
          const at = issue?.path.length ? ` (at ${issue.path.join(".")})` : "";
          return `${name} is not what the API accepts${at}: ${issue?.message ?? "invalid"}`;
        },
      });
    } else if (column.columnType === "SQLiteText" && (name === "at" || name.endsWith("_at"))) {
      rules.push({
        column: name,
        json: false,
        check: (value) => (isTimestamp(value) ? null : `${name} is not an ISO-8601 time`),
      });
    } else if (column.columnType === "SQLiteText" && DATE_COLUMNS.has(name)) {
      rules.push({
        column: name,
        json: false,
        check: (value) =>
          typeof value === "string" && (isDate(value) || (value === "" && MAY_BE_EMPTY.has(name)))
            ? null
            : `${name} is not a date (YYYY-MM-DD)`,
      });
    }
  }
  cache.set(table, rules);
  return rules;
}

/** What of a row (already of its table's shape, its JSON parsing) the API would refuse; null if nothing. */
export function fieldProblem(table: string, row: Record<string, unknown>): string | null {
  for (const rule of fieldRulesOf(table)) {
    const raw = row[rule.column];
    // NULL is the shape's business (a column that allows it); an absent one takes its default.
    if (raw === null || raw === undefined) continue;
    let value: unknown = raw;
    if (rule.json) {
      if (typeof raw !== "string") continue;
      try {
        value = JSON.parse(raw);
      } catch {
        continue; // rowProblem says it is not JSON.
      }
    }
    const problem = rule.check(value);
    if (problem) return problem;
  }
  return null;
}
