/**
 * Best time for a kind of task: per category, the local 3-hour block in which its tasks most often
 * finish within their estimate. Each block's on-time rate is a Beta posterior mean shrunk toward the
 * category's own rate (strength PRIOR_STRENGTH tasks), so a block with three lucky tasks does not win;
 * blocks with fewer than MIN_BLOCK_SAMPLES tasks are not reported. A task whose start is not known
 * (history.ts) counts toward its category's rate and no block.
 */
import { z } from "@hono/zod-openapi";
import { TASK_CATEGORIES } from "../../db/schema/tasks";
import type { TaskSample } from "./features";

export const BLOCK_HOURS = 3;
export const MIN_BLOCK_SAMPLES = 5;
const PRIOR_STRENGTH = 4;

const BlockSchema = z.object({
  start_hour: z.number().int(),
  samples: z.number().int(),
  on_time_rate: z.number(),
  /** Median of actual ÷ estimate in this block (below 1: faster than estimated). */
  median_ratio: z.number(),
});

export const BestTimeParamsSchema = z.object({
  /** Everyone's on-time rate in the training rows: the baseline. */
  overall_rate: z.number(),
  categories: z.record(
    z.string(),
    z.object({ rate: z.number(), samples: z.number().int(), blocks: z.array(BlockSchema) }),
  ),
});
export type BestTimeParams = z.infer<typeof BestTimeParamsSchema>;

/** Rows a best-time model learns from: a category, an estimate and the minutes taken. */
export const comparable = (samples: readonly TaskSample[]) =>
  samples.filter((s) => s.category !== null && (s.estimate ?? 0) > 0 && (s.actual ?? 0) > 0);

/** Only for comparable rows (an estimate and the minutes taken). */
const onTime = (s: TaskSample) => s.actual! <= s.estimate!;
export const blockOf = (hour: number) => Math.floor((((hour % 24) + 24) % 24) / BLOCK_HOURS) * BLOCK_HOURS;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  // Never empty: a block reports only with MIN_BLOCK_SAMPLES tasks.
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function trainBestTime(train: readonly TaskSample[]): BestTimeParams {
  const rows = comparable(train);
  const overall = (rows.filter(onTime).length + 1) / (rows.length + 2);
  const categories: BestTimeParams["categories"] = {};
  for (const category of TASK_CATEGORIES) {
    const mine = rows.filter((s) => s.category === category);
    if (mine.length === 0) continue;
    const rate = (mine.filter(onTime).length + PRIOR_STRENGTH * overall) / (mine.length + PRIOR_STRENGTH);
    const blocks: z.infer<typeof BlockSchema>[] = [];
    for (let start = 0; start < 24; start += BLOCK_HOURS) {
      const inBlock = mine.filter((s) => s.hour !== null && blockOf(s.hour) === start);
      if (inBlock.length < MIN_BLOCK_SAMPLES) continue;
      blocks.push({
        start_hour: start,
        samples: inBlock.length,
        on_time_rate:
          (inBlock.filter(onTime).length + PRIOR_STRENGTH * rate) / (inBlock.length + PRIOR_STRENGTH),
        median_ratio: median(inBlock.map((s) => s.actual! / s.estimate!)),
      });
    }
    categories[category] = { rate, samples: mine.length, blocks };
  }
  return { overall_rate: overall, categories };
}

/** The chance a task finishes within its estimate, by the model (block, else category, else overall). */
export function onTimeChance(params: BestTimeParams, task: TaskSample): number {
  const category = task.category ? params.categories[task.category] : undefined;
  if (!category) return params.overall_rate;
  const hour = task.hour;
  const block = hour === null ? undefined : category.blocks.find((b) => b.start_hour === blockOf(hour));
  return block ? block.on_time_rate : category.rate;
}

export interface BestBlock {
  category: string;
  start_hour: number;
  end_hour: number;
  samples: number;
  on_time_rate: number;
  median_ratio: number;
}

/** Per category, its best block (highest on-time rate; ties: the faster one), when one has enough data. */
export function bestBlocks(params: BestTimeParams): BestBlock[] {
  const out: BestBlock[] = [];
  for (const [category, { blocks }] of Object.entries(params.categories)) {
    const best = [...blocks].sort(
      (a, b) => b.on_time_rate - a.on_time_rate || a.median_ratio - b.median_ratio,
    )[0];
    if (best) out.push({ category, ...best, end_hour: best.start_hour + BLOCK_HOURS });
  }
  return out;
}

/** Brier score of on-time chances against what happened (lower is better). */
export function brier(chances: readonly number[], rows: readonly TaskSample[]): number {
  if (rows.length === 0) return Number.NaN;
  let total = 0;
  rows.forEach((row, i) => {
    total += (chances[i]! - (onTime(row) ? 1 : 0)) ** 2;
  });
  return total / rows.length;
}
