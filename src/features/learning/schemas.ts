import { z } from "@hono/zod-openapi";
import { ENERGY_SCALE, MODEL_KINDS } from "../../db/schema/analytics";
import { TASK_PRIORITIES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { PaginationQuerySchema } from "../../lib/pagination";

export const TaskIdQuerySchema = z.object({
  task_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ description: "The task to predict for (yours)", example: "0190a1b2-…" }),
});

export const ModelInfoSchema = z
  .object({
    model_id: z.string().nullable().openapi({ description: "null when the prior answered" }),
    version: z.number().int().nullable(),
    scope: z.enum(["personal", "population", "prior"]).openapi({
      description:
        "personal: your own model; population: everyone's (until yours exists); prior: no model yet",
    }),
    algorithm: z.string(),
    mae: z.number().nullable().openapi({ description: "The model's error on its held-out tasks" }),
    baseline_mae: z
      .number()
      .nullable()
      .openapi({ description: "The best baseline's error on the same held-out tasks" }),
  })
  .openapi("ModelInfo");

const note = z
  .string()
  .nullable()
  .openapi({ description: "A plain sentence when the answer does not come from your own model" });

export const DurationPredictionSchema = z
  .object({
    task_id: z.string(),
    predicted_minutes: z.number().int(),
    range: z.object({ low: z.number().int(), high: z.number().int() }).openapi({
      description:
        "Where most similar tasks landed: the 20th to 80th percentile of the model's errors on its held-out tasks",
    }),
    estimated_minutes: z.number().int().nullable().openapi({ description: "Your own estimate, if any" }),
    model: ModelInfoSchema,
    note,
    timed_tasks: z.number().int().openapi({ description: "Your finished tasks with an actual time" }),
    timed_tasks_needed: z.number().int().openapi({ description: "How many a model of your own needs" }),
    prediction_id: z
      .string()
      .nullable()
      .openapi({ description: "The logged prediction, scored when the task is done (null: already closed)" }),
  })
  .openapi("DurationPrediction");

export const DifficultyPredictionSchema = z
  .object({
    task_id: z.string(),
    difficulty: z.number().int().min(1).max(5),
    model: ModelInfoSchema,
    note,
    prediction_id: z.string().nullable(),
  })
  .openapi("DifficultyPrediction");

export const EnergyPredictionSchema = z
  .object({
    timezone: z.string(),
    date: z.string().openapi({ description: "Your local date (YYYY-MM-DD)" }),
    current_hour: z.number().int(),
    hours: z.array(
      z.object({
        hour: z.number().int().min(0).max(23),
        level: z.enum(ENERGY_SCALE),
        probability: z.number().openapi({ description: "How likely that level is at this hour" }),
        expected_level: z.number().openapi({ description: "1 low … 3 high" }),
        samples: z.number().int().openapi({
          description:
            "Your check-ins at this hour behind the estimate (0 when the population model or the prior answers)",
        }),
      }),
    ),
    best_hours: z.array(z.number().int()).openapi({ description: "Local hours of highest expected energy" }),
    model: ModelInfoSchema,
    note,
    best_times: z
      .object({
        blocks: z.array(
          z.object({
            category: z.string(),
            start_hour: z.number().int().min(0).max(23),
            end_hour: z.number().int().openapi({ description: "Exclusive: a block is three hours" }),
            on_time_rate: z.number().openapi({
              description: "How often tasks of this kind finished within their estimate in this block",
            }),
            median_ratio: z
              .number()
              .openapi({ description: "Median actual ÷ estimated minutes (below 1: faster)" }),
            samples: z.number().int().openapi({
              description: "Your tasks in this block (0 when the population model answers)",
            }),
          }),
        ),
        model: ModelInfoSchema,
        note,
      })
      .openapi({
        description:
          "Per category, the local 3-hour block where its tasks most often finish within their estimate (blocks with at least 5 tasks)",
      }),
  })
  .openapi("EnergyPrediction");

export const SuggestionsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(20).default(5).openapi({ description: "How many (1–20)" }),
});

export const SuggestionsSchema = z
  .object({
    generated_at: z.string(),
    local_hour: z.number().int(),
    energy_now: z.object({
      level: z.enum(ENERGY_SCALE),
      source: z
        .enum(["check_in", "model"])
        .openapi({ description: "A check-in in the last 3 hours, or your usual" }),
    }),
    models: z.object({ duration: ModelInfoSchema, difficulty: ModelInfoSchema, energy: ModelInfoSchema }),
    suggestions: z.array(
      z.object({
        task_id: z.string(),
        title: z.string(),
        priority: z.enum(TASK_PRIORITIES),
        due_at: z.string().nullable(),
        predicted_minutes: z.number().int(),
        predicted_difficulty: z.number().int(),
        score: z.number(),
        reasons: z.array(z.string()).openapi({ description: "Why now, in plain words" }),
      }),
    ),
  })
  .openapi("Suggestions");

export const ModelsQuerySchema = PaginationQuerySchema.extend({
  kind: caseInsensitiveEnum(MODEL_KINDS).optional(),
});

export const ModelVersionSchema = z
  .object({
    model_id: z.string(),
    kind: z.enum(MODEL_KINDS),
    version: z.number().int(),
    scope: z.enum(["personal", "population", "prior"]),
    algorithm: z.string(),
    promoted: z.boolean().openapi({ description: "Whether this version answers predictions" }),
    metrics: z.record(z.string(), z.unknown()).openapi({
      description:
        "Held-out metric (value), each baseline's and the then-promoted version's on the same rows",
    }),
    mae: z.number().nullable(),
    baseline_mae: z.number().nullable(),
    train_samples: z.number().int(),
    test_samples: z.number().int(),
    trained_at: z.string(),
    live: z
      .object({ scored: z.number().int(), mae: z.number().nullable() })
      .nullable()
      .openapi({ description: "For promoted versions: error of your predictions scored so far" }),
  })
  .openapi("ModelVersion");

export const RetrainSchema = z
  .object({ status: z.literal("queued"), queued_at: z.string() })
  .openapi("RetrainQueued");
