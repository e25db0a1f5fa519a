import type { Env } from "../../env";
import { aiCategoriser, DEFAULT_CATEGORISE_TIMEOUT_MS } from "./ai-categoriser";
import type { Categoriser } from "./categoriser";

type CategoriserConfig = Pick<Env, "AI" | "CATEGORISER" | "CATEGORISE_AI_TIMEOUT_MS">;

/** Whether Workers AI may refine categories: allowed by config ("auto", the default) and bound. */
export function aiCategoriserConfigured(env: CategoriserConfig): boolean {
  return env.CATEGORISER !== "local" && env.AI !== undefined;
}

/** The AI categoriser (local behind it) when configured, else undefined: there is nothing to refine with. */
export function refiningCategoriser(env: CategoriserConfig): Categoriser | undefined {
  if (!aiCategoriserConfigured(env)) return undefined;
  const timeout = Number(env.CATEGORISE_AI_TIMEOUT_MS);
  return aiCategoriser(
    env.AI,
    Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CATEGORISE_TIMEOUT_MS,
  );
}
