import { and, desc, eq, lt } from "drizzle-orm";
import type { Database } from "../../db";
import { deadLetters } from "../../db/schema";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import type { DeadLetterDto, ListDeadLettersQuery } from "./schemas";

type Row = typeof deadLetters.$inferSelect;

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const toDto = (row: Row): DeadLetterDto => ({
  dead_letter_id: row.id,
  source: row.source as DeadLetterDto["source"],
  message_id: row.messageId,
  body: parsed(row.body),
  attempts: row.attempts,
  user_id: row.userId,
  recorded_at: row.recordedAt,
});

/** Newest first, across all users: an administrator's view of what the queues gave up on. */
export async function listDeadLetters(
  db: Database,
  query: ListDeadLettersQuery,
  afterId: string | null,
): Promise<Page<DeadLetterDto>> {
  const conditions = [];
  if (query.source) conditions.push(eq(deadLetters.source, query.source));
  if (afterId) conditions.push(lt(deadLetters.id, afterId));
  const rows = await db
    .select()
    .from(deadLetters)
    .where(and(...conditions))
    .orderBy(desc(deadLetters.id))
    .limit(rowsToFetch(query.limit))
    .all();
  return pageOf(rows, query.limit, toDto, (row) => row.id);
}
