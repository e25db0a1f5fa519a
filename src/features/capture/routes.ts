import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { users } from "../../db/schema";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { isValidTimeZone } from "../../lib/time";
import { requireAuth } from "../../middleware/auth";
import { TaskSchema } from "../tasks/schemas";
import { createTask } from "../tasks/service";
import { parseCapture } from "./parse";

const TITLE_MAX = 300;

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

const CapturedTaskSchema = TaskSchema.extend({ capture: ParsedCaptureSchema }).openapi("CapturedTask");

export const capture = createRoute({
  method: "post",
  path: "/",
  tags: ["Capture"],
  summary: "Turn one line of text into a task (date, !priority, #tags, ~estimate parsed)",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:write" }),
  request: {
    body: jsonBody(CaptureBodySchema),
    headers: IdempotencyHeadersSchema,
  },
  responses: {
    201: jsonResponse(CapturedTaskSchema, "The captured task, with what was understood"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

const captureHandler: AppRouteHandler<typeof capture> = async (c) => {
  const { userId } = c.var.principal;
  const body = c.req.valid("json");
  const result = await idempotently(c, "capture", body, async (idem) => {
    let timeZone = body.timezone;
    if (!timeZone) {
      const user = await c.var.db
        .select({ timezone: users.timezone })
        .from(users)
        .where(eq(users.id, userId))
        .get();
      timeZone = user?.timezone ?? "UTC";
    }
    const parsed = parseCapture(body.text, { timeZone, now: new Date() });
    const created = await createTask(
      c.var.db,
      userId,
      {
        title: parsed.title.slice(0, TITLE_MAX),
        description: parsed.title.length > TITLE_MAX ? parsed.title : null,
        priority: parsed.priority ?? undefined,
        tags: parsed.tags,
        estimated_minutes: parsed.estimated_minutes,
        due_at: parsed.due_at,
      },
      idem,
    );
    return { ...created, parsed };
  });
  afterWrite(c, result.events);
  return c.json({ ...result.body, capture: result.parsed }, 201);
};

export const captureRouter = createRouter().openapi(capture, captureHandler);
