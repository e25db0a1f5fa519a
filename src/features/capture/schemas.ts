import { z } from "@hono/zod-openapi";
import { caseInsensitiveEnum } from "../../lib/enums";
import { isValidTimeZone } from "../../lib/time";
import { TaskSchema } from "../tasks/schemas";

const CAPTURE_MODES = ["auto", "manual", "clarify"] as const;
const Line = z.string().trim().min(1).max(2000);

export const CaptureBodySchema = z
  .object({
    text: Line.optional().openapi({
      description: "The line to capture: stored as a task at once (201). Send `text` or `query`.",
      example: "email Sam about rent tomorrow 5pm !high #home ~10m",
    }),
    query: Line.optional().openapi({
      description:
        "The original mobile app's field: the same line, answered as a preview with suggested micro-steps " +
        "(200) and stored only by POST /api/v1/capture/save.",
    }),
    timezone: z
      .string()
      .refine(isValidTimeZone, { message: "Must be an IANA time zone such as Europe/Berlin" })
      .optional()
      .openapi({ description: "Overrides the account's time zone for this capture" }),
    mode: caseInsensitiveEnum(CAPTURE_MODES)
      .optional()
      .openapi({ description: "The original app's capture mode, echoed in the preview (default auto)" }),
    user_id: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: "The original app's field; ignored: always you" }),
  })
  .superRefine((body, ctx) => {
    if ((body.text === undefined) === (body.query === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [body.text === undefined ? "text" : "query"],
        message: "Send the line as `text` (to store it) or as `query` (to preview it), not both",
      });
    }
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
