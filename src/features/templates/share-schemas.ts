import { z } from "@hono/zod-openapi";
import { TASK_CATEGORIES } from "../../db/schema/tasks";
import { PaginationQuerySchema } from "../../lib/pagination";
import { TaskCategorySchema } from "../tasks/schemas";
import { normalizeShareCode } from "./share-code";

const Code = z.string().openapi({
  description: "10 letters and digits in two groups of five; typed in any case, with or without the hyphen",
  example: "7KQ2M-9XW4T",
});

/** What the owner of a shared template sees of its code on the template itself. */
export const TemplateShareInfoSchema = z
  .object({
    code: Code,
    uses: z.number().int().openapi({
      description: "Distinct people (not the owner) who imported it, over every code it ever had",
    }),
    listed: z.boolean().openapi({
      description: "Shown in GET /api/v1/templates/popular (a public template is listed anyway)",
    }),
    created_at: z.string().openapi({ description: "When this code was made" }),
  })
  .openapi("TemplateShareInfo");

export const TemplateShareSchema = TemplateShareInfoSchema.extend({
  template_id: z.string().openapi({ description: "The template, by the id you know it by" }),
}).openapi("TemplateShare");

export const ShareTemplateBodySchema = z
  .object({
    listed: z
      .boolean()
      .optional()
      .openapi({
        description:
          "Whether the popular list may show a private template by its code (name, description, " +
          "category, icon, step count and minutes; never who made it). Default: false the first time, " +
          "then the last choice made, across revoking and sharing again. Public templates are listed anyway.",
      }),
  })
  .openapi("ShareTemplateRequest");

export const ImportTemplateBodySchema = z
  .object({
    code: z
      .string()
      .refine(
        (code) => code.length <= 64 && normalizeShareCode(code) !== null,
        "A template code is 10 letters and digits, like 7KQ2M-9XW4T",
      )
      .openapi({ description: "The code someone shared", example: "7KQ2M-9XW4T" }),
  })
  .openapi("ImportTemplateRequest");

export const PopularTemplateSchema = z
  .object({
    code: Code.nullable().openapi({
      description:
        "Import it with POST /api/v1/templates/import; null for a public template nobody has shared " +
        "yet (apply it by its template_id, or ask POST /api/v1/templates/{template_id}/share for one)",
    }),
    template_id: z.string().nullable().openapi({
      description: "A public template's id (read and apply it directly); null for a shared private one",
    }),
    name: z.string(),
    description: z.string().nullable(),
    category: z.enum(TASK_CATEGORIES),
    icon: z.string().nullable(),
    is_default: z.boolean().openapi({ description: "One of the platform's own templates" }),
    step_count: z.number().int(),
    total_estimated_minutes: z.number().int(),
    uses: z.number().int().openapi({ description: "Distinct people who imported it by code" }),
    times_applied: z.number().int().openapi({ description: "Tasks made from it" }),
    created_at: z.string(),
  })
  .openapi("PopularTemplate");

export const PopularTemplatesQuerySchema = PaginationQuerySchema.extend({
  category: TaskCategorySchema.optional(),
});

export type TemplateShareInfoDto = z.infer<typeof TemplateShareInfoSchema>;
export type TemplateShareDto = z.infer<typeof TemplateShareSchema>;
export type PopularTemplateDto = z.infer<typeof PopularTemplateSchema>;
export type PopularTemplatesQuery = z.infer<typeof PopularTemplatesQuerySchema>;
