import { z } from "@hono/zod-openapi";
import { MAX_RANGE_DAYS } from "../analytics/rollup-queries";
import { INSIGHT_KINDS } from "./insight-kinds";
import { PHRASED_BY } from "./insight-writer";
import { MARGIN, MIN_CONFIDENCE, MIN_SAMPLES, PATTERN_METRICS } from "./patterns";
import { PATTERN_DIMENSIONS } from "./slices";

export const MIN_DAYS = 14;
/**
 * 120 days by default: 17 of each weekday before today, so a weekday's active days (15 data points at
 * least) can be a pattern. At 90 a weekday has at most 13 and could never be one.
 */
export const DEFAULT_DAYS = 120;

export const DaysQuerySchema = z.object({
  days: z.coerce
    .number()
    .int()
    .min(MIN_DAYS)
    .max(MAX_RANGE_DAYS)
    .default(DEFAULT_DAYS)
    .openapi({
      description: `How many days to look back, today included (${MIN_DAYS}–${MAX_RANGE_DAYS}, default ${DEFAULT_DAYS})`,
      example: DEFAULT_DAYS,
    }),
});

const RangeSchema = z.object({
  from: z.string().openapi({ description: "First day, in your time zone (YYYY-MM-DD)" }),
  to: z.string().openapi({ description: "Last day (today), in your time zone (YYYY-MM-DD)" }),
});

const RateSchema = z.number().min(0).max(1);

export const PatternSchema = z
  .object({
    dimension: z.enum(PATTERN_DIMENSIONS).openapi({
      description: "hour: 3-hour blocks of your local day; weekday; energy: your latest check-in; category",
    }),
    key: z
      .string()
      .openapi({ description: 'The slice: "09-12", "tuesday", "low", "Work"', example: "09-12" }),
    label: z.string().openapi({ example: "9:00–12:00" }),
    metric: z.enum(PATTERN_METRICS).openapi({
      description:
        "focus_completion: focus sessions finished ÷ started; on_time: timed tasks finished within their " +
        "estimate ÷ timed tasks; low_energy: low check-ins ÷ check-ins; active_days: days with a step done ÷ days",
    }),
    rate: RateSchema.openapi({ description: "The rate in this slice" }),
    rate_elsewhere: RateSchema.openapi({ description: "The rate in the rest of the dimension" }),
    sample_size: z.number().int().openapi({ description: "Data points in this slice (at least 15)" }),
    sample_size_elsewhere: z.number().int(),
    interval: z
      .object({ low: RateSchema, high: RateSchema })
      .openapi({ description: "95% Wilson score interval of the slice's rate" }),
    confidence: RateSchema.openapi({ description: "See `statistic`; above 0.7 for every reported pattern" }),
    direction: z.enum(["higher", "lower"]),
    sentence: z.string(),
  })
  .openapi("Pattern");

export const PatternsSchema = z
  .object({
    timezone: z.string(),
    range: RangeSchema,
    statistic: z.string().openapi({ description: "The name of the statistic confidence is" }),
    definition: z.string().openapi({ description: "What that statistic is, in one paragraph" }),
    min_confidence: z.number().openapi({ example: MIN_CONFIDENCE }),
    min_samples: z.number().int().openapi({ example: MIN_SAMPLES }),
    margin: z.number().openapi({ description: "The smallest difference of rates claimed", example: MARGIN }),
    examined: z.number().int().openapi({ description: "How many slices were compared with the rest" }),
    patterns: z.array(PatternSchema),
  })
  .openapi("Patterns");

export const InsightSchema = z
  .object({
    insight_id: z
      .string()
      .openapi({ description: "Derived from the insight's content: same facts, same id" }),
    kind: z.enum(INSIGHT_KINDS),
    title: z.string(),
    body: z.string(),
    evidence: z
      .record(z.string(), z.union([z.number(), z.string()]))
      .openapi({ description: "The numbers the insight rests on" }),
    priority: z.number().int().min(1).max(100).openapi({ description: "1–100, higher first" }),
    phrased_by: z
      .enum(PHRASED_BY)
      .openapi({ description: "Who wrote the words: Workers AI or the local templates" }),
  })
  .openapi("Insight");

export const InsightsSchema = z
  .object({
    timezone: z.string(),
    range: RangeSchema,
    insights: z.array(InsightSchema),
  })
  .openapi("Insights");

export type PatternsDto = z.infer<typeof PatternsSchema>;
export type InsightsDto = z.infer<typeof InsightsSchema>;
