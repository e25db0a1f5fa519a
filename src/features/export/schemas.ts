import { z } from "@hono/zod-openapi";
import { EXPORT_FORMATS, EXPORT_STATUSES } from "../../db/schema";
import { caseInsensitiveEnum } from "../../lib/enums";
import { PaginationQuerySchema } from "../../lib/pagination";

export const CreateExportBodySchema = z
  .object({
    format: caseInsensitiveEnum(EXPORT_FORMATS).openapi({
      description:
        "`json`: the whole account as one versioned document (every table, the live focus timer and pet); " +
        "`csv`: tasks and their steps, for a spreadsheet",
    }),
  })
  .openapi("CreateExport");

export const ExportIdParamsSchema = z.object({
  export_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "export_id", in: "path" } }),
});

export const ListExportsQuerySchema = PaginationQuerySchema;

export const DownloadQuerySchema = z.object({
  expires: z
    .string()
    .regex(/^\d{1,12}$/)
    .openapi({ description: "When the link stops working (Unix seconds), as signed" }),
  signature: z.string().min(1).max(128).openapi({ description: "The link's signature" }),
});

export const ExportSchema = z
  .object({
    export_id: z.string(),
    format: z.enum(EXPORT_FORMATS),
    status: z.enum(EXPORT_STATUSES).openapi({
      description:
        "queued → running → completed (then expired, 7 days after completion, when the file is deleted), or failed",
    }),
    progress: z.object({
      rows_written: z.number().int(),
      rows_total: z.number().int().nullable().openapi({
        description: "Counted when the job starts (null before); rows added meanwhile may exceed it",
      }),
      percent: z.number().int().min(0).max(100),
    }),
    bytes: z.number().int().openapi({ description: "Bytes written so far (the file's size once completed)" }),
    download_url: z.string().optional().openapi({
      description:
        "A signed link that works without a bearer token (for a browser), until `expires_at`; only when completed",
    }),
    expires_at: z
      .string()
      .optional()
      .openapi({ description: "When the file is deleted (completed exports)" }),
    error: z.string().optional().openapi({ description: "Why it failed, when it did" }),
    created_at: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
  })
  .openapi("Export");
export type ExportDto = z.infer<typeof ExportSchema>;
