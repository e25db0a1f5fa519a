import { z } from "@hono/zod-openapi";

export const DeleteAccountBodySchema = z
  .object({
    password: z
      .string()
      .min(1)
      .max(256)
      .openapi({ description: "The account's password, asked again: deleting cannot be undone" }),
  })
  .openapi("DeleteAccountRequest");
