import { gamificationHandler } from "../features/gamification/event-handler";
import { learningHandler } from "../features/learning/event-handler";
import { notificationsHandler } from "../features/notifications/event-handler";
import { petCareHandler } from "../features/pets/event-handler";
import { activityStatsHandler } from "../features/tasks/event-handler";
import { webhooksHandler } from "../features/webhooks/event-handler";
import type { EventHandler } from "../lib/events/handler";

/** Every handler of the events queue, in the order their statements run within a delivery. */
export const DEFAULT_HANDLERS: readonly EventHandler[] = [
  activityStatsHandler,
  gamificationHandler,
  petCareHandler,
  notificationsHandler,
  webhooksHandler,
  learningHandler,
];
