import { analyticsHandler } from "../features/analytics/event-handler";
import { categoriesHandler } from "../features/categories/event-handler";
import { gamificationHandler } from "../features/gamification/event-handler";
import { learningHandler } from "../features/learning/event-handler";
import { notificationsHandler } from "../features/notifications/event-handler";
import { petCareHandler } from "../features/pets/event-handler";
import { webhooksHandler } from "../features/webhooks/event-handler";
import type { EventHandler } from "../lib/events/handler";

/**
 * Every handler of the events queue, in the order their statements run within a delivery. Analytics
 * comes after gamification: it reads the XP ledger rows gamification writes for the same event.
 */
export const DEFAULT_HANDLERS: readonly EventHandler[] = [
  gamificationHandler,
  analyticsHandler,
  petCareHandler,
  notificationsHandler,
  webhooksHandler,
  learningHandler,
  // Last: its `after` waits on Workers AI, which nothing else should wait behind.
  categoriesHandler,
];
