import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_BOUND_PARAMETERS, MAX_STATEMENT_BYTES, takeD1Violations } from "./helpers/d1-limits";

describe("the test D1 binding holds production's limits", () => {
  it("refuses a statement with more than 100 bound parameters, and remembers it for the test", async () => {
    const values = Array.from({ length: MAX_BOUND_PARAMETERS + 1 }, (_, i) => i);
    const stmt = env.DB.prepare(`SELECT ${values.map(() => "?").join(" + ")} AS total`).bind(...values);
    await expect(stmt.first()).rejects.toThrow(/101 bound parameters/);
    await expect(env.DB.batch([stmt])).rejects.toThrow(/bound parameters/);
    expect(takeD1Violations()).toHaveLength(2);
  });

  it("refuses a statement over 100 KB", async () => {
    const padding = "x".repeat(MAX_STATEMENT_BYTES);
    await expect(env.DB.prepare(`SELECT '${padding}' AS big`).first()).rejects.toThrow(/bytes of SQL/);
    expect(takeD1Violations()).toHaveLength(1);
  });

  it("lets 100 parameters through", async () => {
    const values = Array.from({ length: MAX_BOUND_PARAMETERS }, () => 1);
    const row = await env.DB.prepare(`SELECT ${values.map(() => "?").join(" + ")} AS total`)
      .bind(...values)
      .first<{ total: number }>();
    expect(row?.total).toBe(100);
    expect(takeD1Violations()).toEqual([]);
  });
});
