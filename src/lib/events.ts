/** The envelope of every domain event, on the queue and in webhooks. */
export interface EventEnvelope {
  id: string;
  type: string;
  user_id: string;
  occurred_at: string;
  data: Record<string, unknown>;
}
