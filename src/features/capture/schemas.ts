import { z } from "@hono/zod-openapi";
import { isValidTimeZone } from "../../lib/time";
import { TaskSchema } from "../tasks/schemas";

export const CaptureBodySchema = z
  .object({
    text: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .openapi({ example: "email Sam about rent tomorrow 5pm !high #home ~10m" }),
    timezone: z
      .string()
      .refine(isValidTimeZone, { message: "Must be an IANA time zone such as Europe/Berlin" })
      .optional()
      .openapi({ description: "Overrides the account's time zone for this capture" }),
  })
  .openapi("CaptureRequest");

export type CaptureBody = z.infer<typeof CaptureBodySchema>;

const ParsedCaptureSchema = z
  .object({
    title: z.string(),
    due_at: z.string().nullable(),
    due_text: z.string().nullable(),
    priority: z.enum(["low", "medium", "high", "critical"]).nullable(),
    tags: z.array(z.string()),
    estimated_minutes: z.number().int().nullable(),
  })
  .openapi("ParsedCapture");

export const CapturedTaskSchema = TaskSchema.extend({ capture: ParsedCaptureSchema }).openapi("CapturedTask");
