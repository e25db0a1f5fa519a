/**
 * The 5-minute cron runs six jobs in ONE invocation (index.ts scheduled), and D1 allows 1,000
 * statements per invocation (the house bar): what they may send together is counted here, job by job
 * (review4 L4). Jobs of a fixed size have their ceiling from their own constants; the two whose work
 * grows with a backlog (the imports cleanup, the agent sweeper) get a share and read D1 through a
 * meter (lib/statement-meter.ts), taking a next row or agent only while their share covers its worst
 * case. The sum stays at or under CRON_STATEMENTS, a tenth below the limit (tests/cron-budget.test.ts).
 */
import { STALLED_SWEEP } from "../features/export/cleanup";
import { DELETION_SWEEP_BUDGET } from "./housekeeping";
import { RECONCILE_BATCH } from "./outbox-reconciler";
import { MAX_SENDS } from "./webhooks-reconciler";

/** What the 5-minute cron's jobs may send together. */
export const CRON_STATEMENTS = 900;

/** Accounts resumeDeletions can reach with its halving shares of DELETION_SWEEP_BUDGET (200, 100, 50, 50). */
const DELETIONS_REACHED = 4;

/** Each job's most statements in one run. */
export const FIVE_MINUTE_CRON = {
  /** One read, the marks in statements of 90 ids. */
  reconcileOutbox: 1 + Math.ceil(RECONCILE_BATCH / 90),
  /** One read, one update per distinct send count (0 … MAX_SENDS). */
  reconcileWebhookDeliveries: 1 + (MAX_SENDS + 1),
  /** Seven deletions in a batch; the exports' two reads, their expiry, and a failure per stalled job. */
  cleanUpExpired: 7 + 2 + 1 + STALLED_SWEEP,
  /** One read, the erasure's budget, and each account's two reads. */
  resumeDeletions: 1 + DELETION_SWEEP_BUDGET + DELETIONS_REACHED * 2,
  /** Metered: housekeeping and the stale sweep together (features/imports). */
  cleanUpImports: 250,
  /** Metered: agents handed back while their worst case fits (jobs/agent-sweeper.ts). */
  sweepSilentAgents: 120,
} as const;

export type CronJob = keyof typeof FIVE_MINUTE_CRON;
