import { z } from "@hono/zod-openapi";

/**
 * An enum accepted in any letter case (older clients send "delegate" where the seed writes
 * "DELEGATE") and always produced in its canonical spelling.
 */
export function caseInsensitiveEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const byLower = new Map(values.map((v) => [v.toLowerCase(), v]));
  return z
    .preprocess(
      (input) => (typeof input === "string" ? (byLower.get(input.toLowerCase()) ?? input) : input),
      z.enum(values),
    )
    .openapi({ type: "string", enum: [...values] });
}

/** "true"/"false"/"1"/"0" in a query string, as a boolean. */
export const QueryBoolean = z
  .enum(["true", "false", "1", "0"])
  .transform((v) => v === "true" || v === "1")
  .openapi({ type: "boolean" });
