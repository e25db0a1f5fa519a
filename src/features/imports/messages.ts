/**
 * What travels on the imports queue: "go on with this import from its cursor" (import.run), or "go on
 * erasing what this restore staged" (import.erase: a discarded restore, or a failed one whose staging
 * was too large to erase at once; restore/discarding.ts).
 */
import { z } from "@hono/zod-openapi";

export const ImportMessageSchema = z.object({
  type: z.enum(["import.run", "import.erase"]),
  import_id: z.string().min(1),
  user_id: z.string().min(1),
});
export type ImportMessage = z.infer<typeof ImportMessageSchema>;

export const runMessage = (importId: string, userId: string): ImportMessage => ({
  type: "import.run",
  import_id: importId,
  user_id: userId,
});

export const eraseMessage = (importId: string, userId: string): ImportMessage => ({
  type: "import.erase",
  import_id: importId,
  user_id: userId,
});
