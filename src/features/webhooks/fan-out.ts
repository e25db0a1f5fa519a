/**
 * Which endpoints an event goes to, and the delivery rows that record it: pure, so the events
 * handler's two phases (rows in the batch, messages after it) agree by construction.
 */
import type { DomainEvent } from "../../lib/events/catalog";
import { deliveryIdOf } from "./message";

export interface Subscriber {
  id: string;
  userId: string;
  eventTypes: string[];
}

export interface PlannedDelivery {
  id: string;
  webhookId: string;
  userId: string;
  eventId: string;
  eventType: string;
}

/** Whether an endpoint asked for this event: its owner's, of a type it named or `*`. */
export const wants = (endpoint: Subscriber, event: DomainEvent) =>
  endpoint.userId === event.user_id &&
  (endpoint.eventTypes.includes("*") || endpoint.eventTypes.includes(event.type));

/** Every (event, endpoint) delivery these events make, keyed by event id. */
export async function planDeliveries(
  events: readonly DomainEvent[],
  endpoints: readonly Subscriber[],
): Promise<Map<string, PlannedDelivery[]>> {
  const plan = new Map<string, PlannedDelivery[]>();
  for (const event of events) {
    const deliveries: PlannedDelivery[] = [];
    for (const endpoint of endpoints) {
      if (!wants(endpoint, event)) continue;
      deliveries.push({
        id: await deliveryIdOf(event.id, endpoint.id),
        webhookId: endpoint.id,
        userId: event.user_id,
        eventId: event.id,
        eventType: event.type,
      });
    }
    plan.set(event.id, deliveries);
  }
  return plan;
}
