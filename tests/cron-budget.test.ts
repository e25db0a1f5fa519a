/**
 * Review4 L4: the 5-minute cron's jobs share one invocation, so D1's 1,000 statements too. Each job's
 * ceiling is counted (jobs/cron-budget.ts) and their sum kept a tenth below the limit; the imports
 * cleanup, whose work grows with a backlog, stays within its share, measured here.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { SWEEP_ROW_STATEMENTS } from "../src/features/imports/restore/discarding";
import { CRON_STATEMENTS, FIVE_MINUTE_CRON } from "../src/jobs/cron-budget";
import { cleanUpImports } from "../src/jobs/imports-consumer";
import { meteredD1 } from "../src/lib/statement-meter";
import { createUser } from "./helpers/api";
import { countingD1 } from "./helpers/counting-d1";
import { download, exportAccount } from "./helpers/export";
import { capturingQueue, sweepImports } from "./helpers/imports";
import { failAtTheEnd, settleAll, stagedRows } from "./helpers/restore";
import { createTask } from "./helpers/tasks";

describe("the 5-minute cron's statements (review4 L4)", () => {
  it("counts every job of the invocation, and their sum stays a tenth below D1's 1,000", () => {
    expect(Object.keys(FIVE_MINUTE_CRON).sort()).toEqual([
      "cleanUpExpired",
      "cleanUpImports",
      "reconcileOutbox",
      "reconcileWebhookDeliveries",
      "resumeDeletions",
      "sweepSilentAgents",
    ]);
    const sum = Object.values(FIVE_MINUTE_CRON).reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(CRON_STATEMENTS);
    expect(CRON_STATEMENTS).toBeLessThanOrEqual(900);
    // The imports cleanup's share covers its two reads and at least a row of each of its sweeps.
    expect(FIVE_MINUTE_CRON.cleanUpImports).toBeGreaterThanOrEqual(2 + 2 * SWEEP_ROW_STATEMENTS);
  });

  it("a meter counts every statement, a batch's each, and what is left never goes below 0", async () => {
    const { db, meter } = meteredD1(env.DB, 3);
    await db.prepare("SELECT 1").first();
    await db.batch([db.prepare("SELECT 1"), db.prepare("SELECT 2").bind()]);
    expect(meter.spent()).toBe(3);
    expect(meter.left()).toBe(0);
    await db.prepare("SELECT ?").bind(1).all();
    expect(meter.spent()).toBe(4);
    expect(meter.left()).toBe(0);
  });

  describe("the imports cleanup within its share", () => {
    let file: string;
    beforeAll(async () => {
      const source = await createUser();
      await createTask(source, {
        title: "parent",
        micro_steps: [{ description: "s0" }, { description: "s1" }],
      });
      await settleAll(source);
      const done = await exportAccount(source, "json");
      file = await (await download(done.download_url ?? "")).text();
    }, 60_000);

    it("takes a next row only while its share covers the row's worst case; the next run takes the rest", async () => {
      const users = await Promise.all(Array.from({ length: 5 }, () => createUser()));
      const ids: string[] = [];
      for (const user of users) ids.push(await failAtTheEnd(user, file, "merge"));
      // Their 24 hours are over: housekeeping discards them.
      await env.DB.prepare(`UPDATE imports SET expires_at = ? WHERE id IN (${ids.map(() => "?").join(", ")})`)
        .bind(new Date(Date.now() - 60_000).toISOString(), ...ids)
        .run();
      const share = 2 + 2 * SWEEP_ROW_STATEMENTS - 10;
      const counting = countingD1(env.DB);
      const metered = meteredD1(counting.db, share);
      const { queue } = capturingQueue();
      await cleanUpImports({ ...env, DB: metered.db, IMPORTS_QUEUE: queue }, Date.now(), metered.meter);
      expect(counting.statements()).toBeLessThanOrEqual(share);
      expect(metered.meter.spent()).toBe(counting.statements());
      const left = await env.DB.prepare(
        `SELECT count(*) AS n FROM imports WHERE id IN (${ids.map(() => "?").join(", ")})`,
      )
        .bind(...ids)
        .first<{ n: number }>();
      expect(left?.n).toBeGreaterThan(0);
      expect(left?.n).toBeLessThan(ids.length);
      // Unmetered runs (as the next cron runs would) finish them.
      await sweepImports(Date.now());
      for (const [i, id] of ids.entries()) expect(await stagedRows(users[i]?.id ?? "", id)).toBe(0);
    }, 120_000);
  });
});
