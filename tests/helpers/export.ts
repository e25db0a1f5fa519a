import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { SliceOptions } from "../../src/features/export/job";
import type { ExportMessage } from "../../src/features/export/messages";
import type { ExportDto } from "../../src/features/export/schemas";
import { QUEUE_NAMES } from "../../src/index";
import { consumeExports } from "../../src/jobs/exports-consumer";
import { BASE, call, callJson, callWith, type TestUser } from "./api";

export type { ExportDto };

/** A stand-in for the exports queue that keeps what is sent to it. */
export function capturingExportsQueue() {
  const sent: ExportMessage[] = [];
  const queue = {
    async send(body: ExportMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<ExportMessage>>) {
      for (const m of messages) sent.push(m.body);
    },
  } as unknown as Queue<ExportMessage>;
  return { sent, queue };
}

/**
 * Starts an export through the API with the queue captured (nothing runs in the background), and
 * answers the export and the message the API sent.
 */
export async function startExport(
  user: TestUser,
  format: "json" | "csv",
  headers: Record<string, string> = {},
): Promise<{ dto: ExportDto; sent: ExportMessage[]; status: number }> {
  const { sent, queue } = capturingExportsQueue();
  const res = await callWith({ EXPORTS_QUEUE: queue }, "/api/v1/export", {
    token: user.token,
    body: { format },
    headers,
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /api/v1/export: ${res.status} ${text}`);
  return { dto: JSON.parse(text) as ExportDto, sent, status: res.status };
}

let deliveries = 0;

/** One delivery of the exports queue to its consumer; answers what it enqueued and its acks/retries. */
export async function runExportsQueue(
  messages: readonly ExportMessage[],
  options: SliceOptions = {},
  bindings: Partial<typeof env> = {},
  attempts = 1,
) {
  deliveries += 1;
  const { sent, queue } = capturingExportsQueue();
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.exports,
    messages.map((body, i) => ({ id: `export-${deliveries}-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await consumeExports(batch, { ...env, EXPORTS_QUEUE: queue, ...bindings }, options);
  return { sent, result: await getQueueResult(batch, ctx) };
}

/** Runs slices until the job enqueues nothing more (or `maxSlices`); answers how many ran. */
export async function drainExport(
  first: ExportMessage,
  options: SliceOptions = {},
  onSlice?: (n: number) => Promise<void>,
  maxSlices = 100,
): Promise<number> {
  let pending: ExportMessage[] = [first];
  let slices = 0;
  while (pending.length > 0 && slices < maxSlices) {
    const { sent, result } = await runExportsQueue(pending, options);
    if (result.retryMessages.length > 0)
      throw new Error(`a slice asked to be retried: ${JSON.stringify(result)}`);
    slices += pending.length;
    await onSlice?.(slices);
    pending = sent;
  }
  return slices;
}

export function exportOf(user: TestUser, exportId: string): Promise<ExportDto> {
  return callJson<ExportDto>(`/api/v1/export/${exportId}`, 200, { token: user.token });
}

/** Starts an export and runs its job to the end; answers the completed export. */
export async function exportAccount(
  user: TestUser,
  format: "json" | "csv" = "json",
  options: SliceOptions = {},
): Promise<ExportDto> {
  const { dto, sent } = await startExport(user, format);
  const [first] = sent;
  if (!first) throw new Error("the API enqueued nothing");
  await drainExport(first, options);
  const done = await exportOf(user, dto.export_id);
  if (done.status !== "completed") throw new Error(`export ended ${done.status}: ${done.error ?? ""}`);
  return done;
}

/** Follows a download link as a browser would: no bearer token. */
export function download(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const parsed = new URL(url);
  if (parsed.origin !== BASE) throw new Error(`the link points elsewhere: ${url}`);
  return call(`${parsed.pathname}${parsed.search}`, { headers });
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let field = "";
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Every row a user has in a table, as stored, in key order. */
export async function storedRows(sql: string, ...binds: unknown[]): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare(sql)
    .bind(...binds)
    .all<Record<string, unknown>>();
  return results;
}
