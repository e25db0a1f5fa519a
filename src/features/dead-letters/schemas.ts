import { z } from "@hono/zod-openapi";
import { caseInsensitiveEnum } from "../../lib/enums";
import { PaginationQuerySchema } from "../../lib/pagination";

/** The queues a dead letter can come from, as its body tells. */
export const DEAD_LETTER_SOURCES = ["events", "notifications", "webhooks", "imports", "unknown"] as const;

export const DeadLetterSchema = z
  .object({
    dead_letter_id: z.string(),
    source: z.enum(DEAD_LETTER_SOURCES).openapi({
      description: "The queue it failed on, as its body tells",
    }),
    message_id: z.string(),
    body: z.unknown().openapi({ description: "The message as it was sent (cut past 64 KB)" }),
    attempts: z.number().int(),
    user_id: z.string().nullable(),
    recorded_at: z.string(),
  })
  .openapi("DeadLetter");

export const ListDeadLettersQuerySchema = PaginationQuerySchema.extend({
  source: caseInsensitiveEnum(DEAD_LETTER_SOURCES).optional(),
});

export type DeadLetterDto = z.infer<typeof DeadLetterSchema>;
export type ListDeadLettersQuery = z.infer<typeof ListDeadLettersQuerySchema>;
