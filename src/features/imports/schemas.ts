import { z } from "@hono/zod-openapi";
import { IMPORT_MODES, IMPORT_SOURCES, IMPORT_STATUSES } from "../../db/schema/imports";
import { TASK_PRIORITIES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { PaginationQuerySchema } from "../../lib/pagination";
import { FIRST_ITEMS, MAX_FILE_BYTES, MAX_LISTED, MAX_PREVIEW_BYTES } from "./limits";
import { MAPPABLE_FIELDS } from "./sources/generic-csv";

const ColumnName = z.string().trim().min(1).max(200);

/** The generic CSV source's mapping: our field → the file's column name. */
export const CsvMappingSchema = z
  .object({
    title: ColumnName,
    ...Object.fromEntries(
      MAPPABLE_FIELDS.filter((f) => f !== "title").map((f) => [f, ColumnName.optional()]),
    ),
  })
  .strict()
  .openapi("ImportCsvMapping");

const MappingParam = z
  .string()
  .max(4000)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "mapping must be a JSON object of field → column name" });
      return z.NEVER;
    }
  })
  .pipe(CsvMappingSchema);

export const UploadQuerySchema = z.object({
  source: z.enum(IMPORT_SOURCES, { error: `source must be one of: ${IMPORT_SOURCES.join(", ")}` }).openapi({
    param: { name: "source", in: "query" },
    description: "The app the file comes from",
    example: "todoist",
  }),
  mapping: MappingParam.optional().openapi({
    type: "string",
    param: { name: "mapping", in: "query" },
    description:
      "For source=csv (required there, ignored otherwise): JSON naming the file's column for each of our fields. " +
      `\`title\` is required; optional: ${MAPPABLE_FIELDS.filter((f) => f !== "title").join(", ")}. ` +
      "Columns are matched ignoring case and surrounding spaces.",
    example: '{"title":"Task name","due":"Deadline","notes":"Notes","priority":"P","done":"Status"}',
  }),
});

export const CommitBodySchema = z
  .object({
    mode: caseInsensitiveEnum(IMPORT_MODES).openapi({
      description:
        "merge: keep your tasks and skip the file's items you already have. replace: your current tasks are deleted " +
        "at the very end, in the same step that shows the imported ones.",
    }),
  })
  .openapi("CommitImportRequest");

export const ListImportsQuerySchema = PaginationQuerySchema;

/** Longer than any id this platform makes: such an id names no import (404, as any unknown id). */
export const MAX_IMPORT_ID = 64;

export const ImportIdParamsSchema = z.object({
  import_id: z
    .string()
    .min(1)
    .openapi({
      param: { name: "import_id", in: "path" },
      description: "An import's id (unknown ones are 404)",
    }),
});

const where = {
  row: z.number().int().optional().openapi({ description: "The CSV row (the header is row 1)" }),
  line: z.number().int().optional().openapi({ description: "The line of the file the row starts on" }),
  field: z.string().optional().openapi({ description: "The column, or where in a JSON file (cards[3].due)" }),
};

export const ImportItemSchema = z
  .object({
    key: z.string().openapi({ description: "The item's id in the file: the app's own, or row:<n>" }),
    external_id: z.string().nullable(),
    ...where,
    title: z.string(),
    description: z.string().nullable(),
    status: z.enum(["pending", "completed", "cancelled"]),
    priority: z.enum(TASK_PRIORITIES),
    due_at: z.string().nullable(),
    tags: z.array(z.string()),
    estimated_minutes: z.number().int().nullable(),
    parent_key: z.string().nullable().openapi({ description: "The key of the item it is a sub-task of" }),
    depends_on: z.array(z.string()).openapi({ description: "Keys of the items it waits on" }),
    steps: z.array(z.object({ description: z.string(), done: z.boolean() })),
    created_at: z.string().nullable(),
    completed_at: z.string().nullable(),
  })
  .openapi("ImportItem");

export const ImportProblemSchema = z
  .object({
    ...where,
    message: z.string(),
    skipped: z.boolean().openapi({ description: "True when the row was left out" }),
  })
  .openapi("ImportProblem");

export const ImportDuplicateSchema = z
  .object({
    ...where,
    key: z.string(),
    title: z.string(),
    matches_task_id: z.string().openapi({ description: "Your task it matches (merge skips the item)" }),
    deleted_since: z.boolean().optional().openapi({
      description:
        "A restore: your task of this id was deleted since the export; the restore brings back the file's version (merge and replace)",
    }),
  })
  .openapi("ImportDuplicate");

const count = z.number().int().min(0);

export const ImportPreviewSchema = z
  .object({
    counts: z.object({
      tasks: count.openapi({ description: "Items that become tasks (sub-tasks included)" }),
      steps: count.openapi({ description: "Micro-steps (checklist items)" }),
      tags: count.openapi({ description: "Distinct tags" }),
      completed: count,
      skipped: count.openapi({ description: "Rows left out (broken, archived, notes, no name)" }),
      duplicates: count.openapi({ description: "Items you already have (a merge skips them)" }),
      problems: count,
      tables: z
        .record(z.string(), count)
        .optional()
        .openapi({ description: "A restore (source=export): rows per exported table in the file" }),
    }),
    first_items: z.array(ImportItemSchema).openapi({ description: `The first ${FIRST_ITEMS} items` }),
    problems: z.array(ImportProblemSchema).openapi({ description: `The first ${MAX_LISTED} problems` }),
    duplicates: z.array(ImportDuplicateSchema).openapi({ description: `The first ${MAX_LISTED} duplicates` }),
    truncated: z.boolean().openapi({
      description: `True when the lists were shortened to keep the preview under ${MAX_PREVIEW_BYTES / 1_000_000} MB (a file of enormous cells); the counts cover everything`,
    }),
  })
  .openapi("ImportPreview");

export const ImportResultSchema = z
  .object({
    created: count.openapi({ description: "Tasks created" }),
    skipped_duplicates: count.openapi({
      description:
        "Items skipped because you had them (merge); a restore: the file's tasks left as your account has them",
    }),
    replaced: count.openapi({
      description: "Your earlier tasks deleted (replace), tasks made while the job ran included",
    }),
    steps: count.openapi({
      description:
        "Micro-steps created; a restore of your own backup by its link also counts the file's steps it gave your tasks back",
    }),
    restored: count.optional().openapi({
      description:
        "A restore of your own backup by its link: your tasks it brought back (deleted since) or, with replace, gave the file's version",
    }),
    notes: z
      .array(z.string())
      .optional()
      .openapi({ description: "A restore: what was not restored as it was, and why (a sentence each)" }),
  })
  .openapi("ImportResult");

const ImportFields = {
  import_id: z.string(),
  source: z.enum(IMPORT_SOURCES),
  status: z.enum(IMPORT_STATUSES),
  mode: z.enum(IMPORT_MODES).nullable(),
  file_bytes: count,
  progress: z.object({
    items_done: count,
    items_total: count,
    percent: z.number().int().min(0).max(100).openapi({
      description:
        "100 only once completed; a restore stays at 99 while it moves its rows and restores its pet and focus timer",
    }),
    phase: z.enum(["moving", "finishing"]).optional().openapi({
      description:
        "A restore whose rows are all written: `moving` them to the account (the restored tasks show all at once when it ends; with your own backup by its link, your tasks the file holds stay shown and take the file's version, or with merge its added steps and dependencies, a page of tasks at a time meanwhile), then `finishing` (restoring the pet and focus timer). It completes on its own; absent otherwise",
    }),
  }),
  result: z.union([ImportResultSchema, z.null()]).openapi({
    description: "What the import did: null until it is completed (a restore counts it as it goes)",
  }),
  error: z.string().nullable().openapi({ description: "Why it failed, in a sentence" }),
  created_at: z.string(),
  updated_at: z.string(),
  committed_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  expires_at: z.string().nullable().openapi({
    description: "When an uncommitted preview (or a failed job) is discarded with its file",
  }),
};

export const ImportSummarySchema = z.object(ImportFields).openapi("ImportSummary");
export const ImportSchema = z.object({ ...ImportFields, preview: ImportPreviewSchema }).openapi("Import");

export const UPLOAD_DESCRIPTION = `The file as the request body, at most ${MAX_FILE_BYTES / 1024 / 1024} MiB`;

export type CsvMapping = z.infer<typeof CsvMappingSchema>;
export type ImportItemDto = z.infer<typeof ImportItemSchema>;
export type ImportProblemDto = z.infer<typeof ImportProblemSchema>;
export type ImportDuplicateDto = z.infer<typeof ImportDuplicateSchema>;
export type ImportPreviewDto = z.infer<typeof ImportPreviewSchema>;
export type ImportResultDto = z.infer<typeof ImportResultSchema>;
export type ImportDto = z.infer<typeof ImportSchema>;
export type ImportSummaryDto = z.infer<typeof ImportSummarySchema>;
