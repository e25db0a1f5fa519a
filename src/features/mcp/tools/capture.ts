import { z } from "@hono/zod-openapi";
import type { McpServer } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { AppEnv } from "../../../lib/create-app";
import { idempotencyContext } from "../../../lib/idempotency";
import { afterWrite } from "../../../lib/publish";
import { CaptureBodySchema, CapturedTaskSchema } from "../../capture/schemas";
import { captureTask } from "../../capture/service";
import { IdempotencyKey } from "../schemas";
import { runTool } from "../tool-result";

const { text, timezone } = CaptureBodySchema.shape;

/** Registers `capture_task`: one line of text becomes a task of the person's, as POST /capture does. */
export function registerCaptureTools(server: McpServer, c: Context<AppEnv>): void {
  server.registerTool(
    "capture_task",
    {
      title: "Capture a task",
      description:
        "Turn one line of text into a task of yours: a date, !priority, #tags and ~estimate are understood " +
        '("email Sam about rent tomorrow 5pm !high #home ~10m"). Needs tasks:write, which an agent\'s own token lacks.',
      inputSchema: z.object({
        text: text.unwrap().describe("The line to capture"),
        timezone: timezone.describe(
          "Overrides your account's time zone for this capture (IANA, e.g. Europe/Berlin)",
        ),
        idempotency_key: IdempotencyKey.optional(),
      }),
      outputSchema: CapturedTaskSchema,
    },
    ({ idempotency_key, ...body }) =>
      runTool(c, { scope: "tasks:write", write: true }, async () => {
        // Keyed as the REST route keys its Idempotency-Key: a key means the same capture either way.
        const idempotency = await idempotencyContext(idempotency_key, "capture", body);
        const result = await captureTask(c.var.db, c.var.principal.userId, body, idempotency);
        afterWrite(c, result.events);
        return result.body;
      }),
  );
}
