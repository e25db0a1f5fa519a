import { z } from "@hono/zod-openapi";
import { QueryBoolean } from "../../lib/enums";

export const CalendarFeedSchema = z
  .object({
    url: z.string().openapi({
      description:
        "The feed to subscribe to (Google Calendar: Other calendars → From URL; Outlook: Subscribe from web). " +
        "It is the credential: shown only now; POST again for a new one.",
      example: "https://api.proxy-agent.dev/api/v1/calendar/3q2-7wVq….ics",
    }),
    created_at: z.string(),
  })
  .openapi("CalendarFeed");

export const ImportQuerySchema = z.object({
  preview: QueryBoolean.optional().openapi({
    description: "true: answer what the import would do, and write nothing (default false)",
  }),
});

export const IMPORT_ACTIONS = ["created", "updated", "unchanged", "kept", "skipped"] as const;
export type ImportAction = (typeof IMPORT_ACTIONS)[number];

export const ImportedItemSchema = z
  .object({
    uid: z.string().openapi({
      description: "The item's UID; one longer than 255 bytes is remembered as `sha256:` and its hash",
    }),
    recurrence_id: z
      .string()
      .nullable()
      .openapi({ description: "The occurrence of a recurring event (its start), null for a single item" }),
    title: z.string(),
    due_at: z.string().nullable(),
    action: z.enum(IMPORT_ACTIONS).openapi({
      description:
        "What was done (or, in a preview, would be); `kept`: changed in the calendar, but its task was edited " +
        "after the last import, so it is left as it is",
    }),
    task_id: z
      .string()
      .nullable()
      .openapi({ description: "The task it is (null in a preview of a new one)" }),
  })
  .openapi("CalendarImportItem");

export const ImportResultSchema = z
  .object({
    preview: z.boolean(),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    kept: z.number().int().openapi({
      description: "Items changed in the calendar whose tasks you edited since: left as they are",
    }),
    skipped: z.number().int(),
    warnings: z.array(
      z.object({
        line: z.number().int().nullable().openapi({ description: "Where in the file, when it is one place" }),
        message: z.string(),
      }),
    ),
    items: z.array(ImportedItemSchema).openapi({ description: "The first 20 items, in the file's order" }),
  })
  .openapi("CalendarImportResult");

export type CalendarFeedDto = z.infer<typeof CalendarFeedSchema>;
export type ImportResultDto = z.infer<typeof ImportResultSchema>;
export type ImportedItemDto = z.infer<typeof ImportedItemSchema>;
