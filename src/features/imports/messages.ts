/** What travels on the imports queue: "go on with this import from its cursor". */
import { z } from "@hono/zod-openapi";

export const ImportMessageSchema = z.object({
  type: z.literal("import.run"),
  import_id: z.string().min(1),
  user_id: z.string().min(1),
});
export type ImportMessage = z.infer<typeof ImportMessageSchema>;

export const runMessage = (importId: string, userId: string): ImportMessage => ({
  type: "import.run",
  import_id: importId,
  user_id: userId,
});
