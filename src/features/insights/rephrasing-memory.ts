/**
 * Rephrasings remembered for a day, per user, insight and model, so that reading insights again (a
 * refresh, a second screen) neither waits for the model nor spends the user's AI budget: only insights
 * never rephrased before go to the model, and the budget is asked only when there are some.
 *
 * The memory is a named Cache API cache (never the zone's CDN cache, and keyed by a URL no request can
 * reach). It is per data centre and best effort: a miss only means asking the model once more. On
 * *.workers.dev the Cache API keeps nothing, so there every read asks (see the README).
 */
import { z } from "@hono/zod-openapi";
import { seedOf } from "../../lib/seeded-random";
import type { LocalInsight } from "./insight-kinds";
import { acceptable, type InsightWriter, phrase, type Rephraser, type Words } from "./insight-writer";

/** How long a rephrasing is remembered. */
export const REPHRASING_TTL_SECONDS = 24 * 60 * 60;
export const REPHRASING_CACHE = "insight-rephrasings";

/** Words the model wrote for an insight, or `null`: it was asked, and the local words stand. */
export type Remembered = Words | null;

export interface RephrasingMemory {
  get(key: string): Promise<Remembered | undefined>;
  put(key: string, value: Remembered): Promise<void>;
}

const hex = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Where one insight's rephrasing is kept: the user, the model, the insight's id (its facts) and its
 * local words (a new template is a new text to reword). Nothing in it is readable text of the insight.
 */
export function rephrasingKey(userId: string, writerId: string, insight: LocalInsight): string {
  const text = `${insight.title}\n${insight.body}`;
  const words = `${hex(seedOf(`a|${text}`))}${hex(seedOf(`b|${text}`))}`;
  return `https://insight-rephrasings.internal/v1/${encodeURIComponent(userId)}/${encodeURIComponent(writerId)}/${insight.insight_id}/${words}`;
}

const Stored = z.object({
  words: z.object({ title: z.string(), body: z.string() }).nullable(),
});

/** The memory in a Cache API cache, each entry kept for `ttlSeconds`. Failures are misses, never errors. */
export function cacheMemory(
  open: () => Promise<Cache>,
  ttlSeconds = REPHRASING_TTL_SECONDS,
): RephrasingMemory {
  let cache: Promise<Cache> | undefined;
  const opened = () => {
    cache ??= open();
    return cache;
  };
  return {
    async get(key) {
      try {
        const hit = await (await opened()).match(key);
        if (!hit) return undefined;
        const parsed = Stored.safeParse(await hit.json());
        return parsed.success ? parsed.data.words : undefined;
      } catch {
        return undefined;
      }
    },
    async put(key, value) {
      try {
        await (await opened()).put(
          key,
          new Response(JSON.stringify({ words: value }), {
            headers: {
              "content-type": "application/json",
              // Not `private`: the Cache API stores nothing marked private. The cache is named and
              // keyed by a host no request reaches, so nothing here is served to anyone.
              "cache-control": `max-age=${ttlSeconds}`,
            },
          }),
        );
      } catch {
        // Not remembered: the next read asks the model again.
      }
    },
  };
}

export interface RememberingOptions {
  rephraser: Rephraser;
  memory: RephrasingMemory;
  userId: string;
  /** Asked only when some insight has no remembered rephrasing: the user's AI budget. */
  allowed: () => Promise<boolean>;
}

/** A writer that answers from memory first and asks the model only about the rest, within the budget. */
export function rememberingWriter(options: RememberingOptions): InsightWriter {
  const { rephraser, memory, userId } = options;
  return {
    name: "ai",
    async write(insights) {
      const keys = insights.map((i) => rephrasingKey(userId, rephraser.id, i));
      const remembered = await Promise.all(keys.map((key) => memory.get(key)));
      const missing = insights.filter((_, k) => remembered[k] === undefined);
      let fresh: Map<string, Remembered> | undefined;
      if (missing.length > 0 && (await options.allowed())) {
        fresh = await rephraser.rephrase(missing);
        if (fresh) {
          const answers = fresh;
          await Promise.all(
            insights.flatMap((i, k) => {
              const value = answers.get(i.insight_id);
              return value === undefined ? [] : [memory.put(keys[k] as string, value)];
            }),
          );
        }
      }
      return phrase(insights, (i, k) => {
        const words = remembered[k] ?? fresh?.get(i.insight_id);
        // Checked again on the way out: the rules may have grown since the words were remembered.
        return words && acceptable(words, i) ? words : null;
      });
    },
  };
}
