import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { Env } from "../../src/env";
import type { ImportMessage } from "../../src/features/imports/messages";
import type { RunOptions } from "../../src/features/imports/pipeline";
import type { ImportDto, ImportSummaryDto } from "../../src/features/imports/schemas";
import type { TaskDto } from "../../src/features/tasks/schemas";
import { QUEUE_NAMES } from "../../src/index";
import { cleanUpImports, consumeImports } from "../../src/jobs/imports-consumer";
import { BASE, callJson, callWith, type TestUser } from "./api";
import { checkContract } from "./contract";

export type Import = ImportDto;
export type ImportSummary = ImportSummaryDto;
export type { ImportMessage };

export const TODOIST_MAPPING = undefined;
export const GENERIC_MAPPING = {
  id: "Ref",
  title: "Task name",
  due: "Deadline",
  notes: "Notes",
  priority: "P",
  done: "Status",
  tags: "Labels",
  parent: "Parent",
  estimate: "Time",
  steps: "Checklist",
  depends_on: "Blocked by",
};

const CONTENT_TYPES: Record<string, string> = {
  todoist: "text/csv",
  ticktick: "text/csv",
  csv: "text/csv",
  trello: "application/json",
};

/** Uploads a file as a client would (the body is the file, bytes as they are), checked against the contract. */
export async function upload(
  user: TestUser,
  source: string,
  file: string | Uint8Array,
  options: { mapping?: unknown; headers?: Record<string, string>; query?: string } = {},
): Promise<Response> {
  const params = new URLSearchParams({ source });
  if (options.mapping !== undefined)
    params.set(
      "mapping",
      typeof options.mapping === "string" ? options.mapping : JSON.stringify(options.mapping),
    );
  const url = `${BASE}/api/v1/import?${options.query ?? params.toString()}`;
  const res = await exports.default.fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${user.token}`,
      "content-type": CONTENT_TYPES[source] ?? "text/csv",
      ...options.headers,
    },
    body: file,
  });
  await checkContract("POST", url, res);
  return res;
}

/** Uploads and answers the preview, expecting 201. */
export async function preview(
  user: TestUser,
  source: string,
  file: string | Uint8Array,
  mapping?: unknown,
): Promise<Import> {
  const res = await upload(user, source, file, { mapping });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`upload ${source}: expected 201, got ${res.status}: ${text}`);
  return JSON.parse(text) as Import;
}

export function getImport(user: TestUser, importId: string): Promise<Import> {
  return callJson<Import>(`/api/v1/import/${importId}`, 200, { token: user.token });
}

/** A queue that keeps what is sent to it (so a test runs the consumer itself, when it chooses). */
export function capturingQueue() {
  const sent: ImportMessage[] = [];
  const queue = {
    async send(body: ImportMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<{ body: ImportMessage }>) {
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue<ImportMessage>;
  return { sent, queue };
}

/** Commits through the API with a queue the test holds; answers the job and the message it queued. */
export async function commit(user: TestUser, importId: string, mode: "merge" | "replace") {
  const { sent, queue } = capturingQueue();
  const res = await callWith({ IMPORTS_QUEUE: queue }, `/api/v1/import/${importId}/commit`, {
    method: "POST",
    token: user.token,
    body: { mode },
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`commit: expected 202, got ${res.status}: ${text}`);
  return { job: JSON.parse(text) as Import, sent };
}

let deliveries = 0;

/**
 * One delivery of these messages to the imports consumer; answers what it sent on and its acks/retries.
 * `bindings` replace the environment's (a counting D1 or R2).
 */
export async function runImportQueue(
  messages: readonly ImportMessage[],
  attempts = 1,
  options: RunOptions = {},
  bindings: Partial<Pick<Env, "DB" | "FILES">> = {},
) {
  deliveries += 1;
  const { sent, queue } = capturingQueue();
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.imports,
    messages.map((body, i) => ({ id: `import-${deliveries}-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await consumeImports(batch, { ...env, ...bindings, IMPORTS_QUEUE: queue }, options);
  return { sent, result: await getQueueResult(batch, ctx) };
}

/** Runs the consumer on a message and on everything it sends on, until nothing is left. */
export async function drainImports(
  messages: readonly ImportMessage[],
  options: RunOptions = {},
): Promise<number> {
  let pending = [...messages];
  let runs = 0;
  while (pending.length > 0 && runs < 500) {
    const [next, ...rest] = pending;
    if (!next) break;
    runs += 1;
    const { sent, result } = await runImportQueue([next], 1, options);
    if (result.retryMessages.length > 0)
      throw new Error(`an import delivery asked to be retried: ${JSON.stringify(result)}`);
    pending = [...rest, ...sent];
  }
  return runs;
}

/** Previews, commits and runs an import to its end; answers the finished job. */
export async function importFile(
  user: TestUser,
  source: string,
  file: string | Uint8Array,
  options: { mapping?: unknown; mode?: "merge" | "replace"; run?: RunOptions } = {},
): Promise<Import> {
  const previewed = await preview(user, source, file, options.mapping);
  const { sent } = await commit(user, previewed.import_id, options.mode ?? "merge");
  await drainImports(sent, options.run);
  return getImport(user, previewed.import_id);
}

/** Every live task of the user's, with steps, following the Link header page by page. */
export async function allTasks(user: TestUser): Promise<TaskDto[]> {
  const tasks: TaskDto[] = [];
  let path: string | null = "/api/v1/tasks?limit=100&include=micro_steps";
  while (path) {
    const res = await exports.default.fetch(`${BASE}${path}`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    await checkContract("GET", `${BASE}${path}`, res);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    tasks.push(...(await res.json<TaskDto[]>()));
    path = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
  }
  return tasks;
}

/** The R2 objects under the user's imports/ prefix. */
export async function filesOf(userId: string): Promise<string[]> {
  const listed = await env.FILES.list({ prefix: `imports/${userId}/` });
  return listed.objects.map((o) => o.key);
}

/** Rows of a table the user owns, counted directly (hidden ones included). */
export async function rowsOf(
  table: "tasks" | "micro_steps" | "task_dependencies" | "import_items" | "imports",
  userId: string,
) {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`)
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * Runs the imports housekeeping as the 5-minute cron would at `now`, until it finds nothing more to do;
 * answers the messages it sent (stuck jobs' messages sent again).
 */
export async function sweepImports(now: number): Promise<ImportMessage[]> {
  const { sent, queue } = capturingQueue();
  for (let run = 0; run < 100; run++)
    if ((await cleanUpImports({ ...env, IMPORTS_QUEUE: queue }, now)) === 0) break;
  return sent;
}
