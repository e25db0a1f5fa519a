import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Database } from "../db";
import { idempotencyKeys } from "../db/schema";
import type { D1Batch } from "./batch";
import { ApiError } from "./errors";
import { sha256Hex } from "./ids";
import { nowIso } from "./time";

export const IDEMPOTENCY_HEADER = "idempotency-key";
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The request headers of a retry-safe write, for a route's `request.headers`. */
export const IdempotencyHeadersSchema = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .optional()
    .openapi({ description: "Retry-safe writes: the same key and body return the first answer" }),
});

export interface IdempotencyContext {
  key: string;
  requestHash: string;
}

/**
 * The hash a retry must match. Callers pass the *parsed* input (after zod: enums in their canonical
 * spelling, defaults filled in), so a retry that only spells an enum in another letter case is the
 * same request and replays the first answer.
 */
function requestHashOf(input: unknown): Promise<string> {
  return sha256Hex(JSON.stringify(input));
}

/** A socket action's context from its `request_id` (undefined without one), over the parsed action. */
export async function socketIdempotency(
  requestId: string | null,
  input: unknown,
): Promise<IdempotencyContext | undefined> {
  if (requestId === null) return undefined;
  return { key: `socket:${requestId}`, requestHash: await requestHashOf(input) };
}

/** Reads and checks the Idempotency-Key header (undefined when the client sent none), over the parsed body. */
export async function idempotencyContext(
  header: string | undefined,
  routeId: string,
  body: unknown,
): Promise<IdempotencyContext | undefined> {
  if (header === undefined) return undefined;
  if (!KEY_PATTERN.test(header)) {
    throw new ApiError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1–255 visible ASCII characters.",
    );
  }
  return { key: `${routeId}:${header}`, requestHash: await requestHashOf(body) };
}

/** The stored answer for this key, or undefined the first time; 422 if the key was used for another body. */
export async function findStoredResponse(
  db: Database,
  userId: string,
  ctx: IdempotencyContext,
): Promise<{ status: number; body: unknown } | undefined> {
  const row = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, ctx.key)))
    .get();
  if (!row) return undefined;
  if (row.requestHash !== ctx.requestHash) {
    throw new ApiError(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request body.",
    );
  }
  return { status: row.status, body: JSON.parse(row.responseBody) };
}

/** The row remembering this answer, written in the same batch as the change it answers for. */
export function storeResponse(
  db: Database,
  userId: string,
  ctx: IdempotencyContext,
  status: number,
  body: unknown,
) {
  return db.insert(idempotencyKeys).values({
    userId,
    key: ctx.key,
    requestHash: ctx.requestHash,
    status,
    responseBody: JSON.stringify(body),
    createdAt: nowIso(),
  });
}

/**
 * Runs a write batch with, when there is a key, the row remembering its answer. If the batch fails
 * because a concurrent retry with the same key wrote first, returns the answer that one stored;
 * any other failure is rethrown for the caller to explain.
 */
export async function runStoringAnswer<T>(
  db: Database,
  batch: D1Batch,
  userId: string,
  ctx: IdempotencyContext | undefined,
  answer: { status: number; body: T },
): Promise<T | undefined> {
  if (ctx) batch.add(storeResponse(db, userId, ctx, answer.status, answer.body));
  try {
    await batch.run(db);
    return undefined;
  } catch (error) {
    const stored = ctx ? await findStoredResponse(db, userId, ctx) : undefined;
    if (stored) return stored.body as T;
    throw error;
  }
}
