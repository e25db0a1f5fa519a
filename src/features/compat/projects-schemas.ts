import { z } from "@hono/zod-openapi";
import { PaginationQuerySchema } from "../../lib/pagination";

export const PROJECT_TAG = "project";

export const CreateProjectBodySchema = z
  .object({
    name: z.string().trim().min(1).max(300),
    description: z.string().max(10_000).nullable().optional(),
    user_id: z.string().max(200).optional().openapi({ description: "Ignored: always you" }),
  })
  .openapi("LegacyCreateProjectRequest");

export const ProjectIdParamsSchema = z.object({
  project_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "project_id", in: "path" } }),
});

export const ListProjectsQuerySchema = PaginationQuerySchema;

export const LegacyProjectSchema = z
  .object({
    project_id: z
      .string()
      .openapi({ description: "The project's task id (a project is a task tagged `project`)" }),
    task_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.string(),
    tags: z.array(z.string()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("LegacyProject");

export type LegacyProject = z.infer<typeof LegacyProjectSchema>;
