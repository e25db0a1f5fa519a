import { FocusRoom as FocusRoomObject } from "../durable-objects/focus-room";
import { FocusTimer as FocusTimerObject } from "../durable-objects/focus-timer";
import { LeaderboardShard as LeaderboardShardObject } from "../durable-objects/leaderboard-shard";
import { PetState as PetStateObject } from "../durable-objects/pet-state";
import { createApp } from "./app";
import type { Env } from "./env";
import { sweepSilentAgents } from "./jobs/agent-sweeper";
import { type CronJob, FIVE_MINUTE_CRON } from "./jobs/cron-budget";
import { recordDeadLetters } from "./jobs/dead-letters";
import { consumeErasure } from "./jobs/erasure-consumer";
import { consumeEvents } from "./jobs/events-consumer";
import { consumeExports } from "./jobs/exports-consumer";
import { cleanUpExpired, resumeDeletions, sweepOrphanFiles } from "./jobs/housekeeping";
import { cleanUpImports, consumeImports } from "./jobs/imports-consumer";
import { consumeLearning } from "./jobs/learning-consumer";
import { scheduleNightlyTraining } from "./jobs/learning-cron";
import { sweepNotifications } from "./jobs/notification-sweeper";
import { consumeNotifications } from "./jobs/notifications-consumer";
import { reconcileOutbox } from "./jobs/outbox-reconciler";
import { consumeWebhooks } from "./jobs/webhooks-consumer";
import { reconcileWebhookDeliveries } from "./jobs/webhooks-reconciler";
import { loggableError } from "./lib/db-errors";
import { objectWithSentryWhenConfigured, withSentryWhenConfigured } from "./lib/sentry";
import { meteredD1 } from "./lib/statement-meter";

// Error tracking reaches into every object too, when a DSN is set (src/lib/sentry.ts).
export const FocusRoom = objectWithSentryWhenConfigured(FocusRoomObject);
export const FocusTimer = objectWithSentryWhenConfigured(FocusTimerObject);
export const LeaderboardShard = objectWithSentryWhenConfigured(LeaderboardShardObject);
export const PetState = objectWithSentryWhenConfigured(PetStateObject);

const app = createApp();

/** The cron expressions of wrangler.toml [triggers], and what each runs. */
export const CRONS = {
  /** Notifications: due-soon reminders, quiet hours ending, digests, pending pushes, Expo receipts. */
  everyMinute: "* * * * *",
  /** Outbox reconcilers (events, webhook deliveries), housekeeping, silent agents. */
  everyFiveMinutes: "*/5 * * * *",
  /**
   * Nightly training of every active user's models and the population model (features/learning), and
   * the sweep of export files no export stands behind (features/export/cleanup.ts).
   */
  nightly: "0 3 * * *",
} as const;

export const QUEUE_NAMES = {
  events: "pap-events",
  notifications: "pap-notifications",
  webhooks: "pap-webhooks",
  learning: "pap-learning",
  exports: "pap-exports",
  imports: "pap-imports",
  erasure: "pap-erasure",
  deadLetters: "pap-dead-letters",
} as const;

// Sentry wraps fetch, queue and scheduled when SENTRY_DSN is set, and stays out of the way when not.
export default withSentryWhenConfigured({
  fetch: app.fetch,

  async queue(batch, env) {
    if (batch.queue === QUEUE_NAMES.events) return consumeEvents(batch, env);
    if (batch.queue === QUEUE_NAMES.notifications) return consumeNotifications(batch, env);
    if (batch.queue === QUEUE_NAMES.webhooks) return consumeWebhooks(batch, env);
    if (batch.queue === QUEUE_NAMES.learning) return consumeLearning(batch, env);
    if (batch.queue === QUEUE_NAMES.imports) return consumeImports(batch, env);
    if (batch.queue === QUEUE_NAMES.exports) return consumeExports(batch, env);
    if (batch.queue === QUEUE_NAMES.erasure) return consumeErasure(batch, env);
    if (batch.queue === QUEUE_NAMES.deadLetters) return recordDeadLetters(batch, env);
    // A queue this Worker does not consume (a binding added before its consumer): its messages are
    // kept as dead letters (readable at GET /api/v1/admin/dead-letters), never logged and dropped.
    console.error(
      JSON.stringify({ level: "error", message: "no consumer for this queue yet", queue: batch.queue }),
    );
    return recordDeadLetters(batch, env);
  },

  async scheduled(controller, env, ctx) {
    if (controller.cron === CRONS.everyMinute) {
      ctx.waitUntil(sweepNotifications(env).then(() => undefined));
      return;
    }
    if (controller.cron === CRONS.nightly) {
      // A failure here would vanish inside waitUntil: log it (the next night tries again).
      const logged = (message: string) => (error: unknown) => {
        console.error(JSON.stringify({ level: "error", message, error: loggableError(error) }));
      };
      ctx.waitUntil(
        Promise.all([
          scheduleNightlyTraining(env, controller.scheduledTime).catch(
            logged("nightly training not scheduled"),
          ),
          sweepOrphanFiles(env).catch(logged("orphan export sweep not started")),
        ]).then(() => undefined),
      );
      return;
    }
    // Daily challenges need no job: they are derived from the date (features/gamification/challenges.ts).
    // One invocation for all of them: D1's 1,000 statements are shared (jobs/cron-budget.ts).
    const share = (job: CronJob) => {
      const metered = meteredD1(env.DB, FIVE_MINUTE_CRON[job]);
      return { env: { ...env, DB: metered.db }, meter: metered.meter };
    };
    const imports = share("cleanUpImports");
    const agents = share("sweepSilentAgents");
    const jobs = [
      reconcileOutbox(env),
      reconcileWebhookDeliveries(env),
      cleanUpExpired(env),
      cleanUpImports(imports.env, Date.now(), imports.meter),
      resumeDeletions(env),
      sweepSilentAgents(agents.env, Date.now(), agents.meter),
    ];
    ctx.waitUntil(Promise.all(jobs).then(() => undefined));
  },
} satisfies ExportedHandler<Env, unknown>);
