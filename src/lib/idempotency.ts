import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { Database } from "../db";
import { idempotencyKeys } from "../db/schema";
import type { D1Batch } from "./batch";
import type { AppEnv } from "./create-app";
import { ApiError } from "./errors";
import { sha256Hex } from "./ids";
import { nowIso } from "./time";

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** Set on an answer that is the stored first answer to the same key, not a new write. */
export const REPLAYED_HEADER = "Idempotent-Replayed";
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
  /** What to answer when the key comes back with another body (default: 422 idempotency_key_reused). */
  reused?: ApiError;
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

/**
 * Checks an idempotency key (undefined when the client sent none) over the parsed body: the
 * Idempotency-Key header, or the same key sent another way (an MCP tool's `idempotency_key`).
 */
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

/**
 * A key the request itself carries, for clients that send no Idempotency-Key but name what they save
 * (the original mobile app's capture preview id). A space never appears in a header key, so the two
 * kinds of key cannot collide.
 */
async function fallbackContext(
  routeId: string,
  fallback: FallbackKey,
  body: unknown,
): Promise<IdempotencyContext> {
  return {
    key: `${routeId} ${fallback.key}`,
    requestHash: await requestHashOf(body),
    reused: fallback.reused,
  };
}

/**
 * A key the body carries (see fallbackContext), and what to answer when it comes back with another body:
 * the client sent no Idempotency-Key, so "this key was used" would mean nothing to it.
 */
export interface FallbackKey {
  key: string;
  reused: ApiError;
}

/** The stored answer for this key, or undefined the first time; 422 if the key was used for another body. */
async function findStoredResponse(
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
    if (ctx.reused) throw ctx.reused;
    throw new ApiError(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was already used with a different request body.",
    );
  }
  return { status: row.status, body: JSON.parse(row.responseBody) };
}

/** The row remembering this answer, written in the same batch as the change it answers for. */
function storeResponse(db: Database, userId: string, ctx: IdempotencyContext, status: number, body: unknown) {
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
 * Replaces the stored answer to this key with the one the client was actually given, when it is only
 * known after the write (a Durable Object's view of what was written). Replays then answer that.
 */
export async function replaceStoredResponse(
  db: Database,
  userId: string,
  ctx: IdempotencyContext,
  body: unknown,
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ responseBody: JSON.stringify(body) })
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, ctx.key)));
}

/**
 * A route's retry-safe write: checks the Idempotency-Key header (400 when malformed), keys it by
 * `routeId` and the parsed `input`, runs `write` with that context (undefined without a key), and
 * marks a replayed answer with the replay header. Without the header, `fallbackKey` (when given)
 * keys it instead.
 */
export async function idempotently<R extends { replayed: boolean }>(
  c: Context<AppEnv>,
  routeId: string,
  input: unknown,
  write: (idempotency: IdempotencyContext | undefined) => Promise<R>,
  options: { fallbackKey?: FallbackKey | undefined } = {},
): Promise<R> {
  const header = c.req.header(IDEMPOTENCY_HEADER);
  const idempotency =
    header === undefined && options.fallbackKey !== undefined
      ? await fallbackContext(routeId, options.fallbackKey, input)
      : await idempotencyContext(header, routeId, input);
  const result = await write(idempotency);
  if (result.replayed) c.header(REPLAYED_HEADER, "true");
  return result;
}

/** A D1 write ready to run: its batch, the answer it gives (stored with it under a key) and its events. */
export interface PreparedWrite<T, E> {
  /** The status the answer is stored with. */
  status: number;
  batch: D1Batch;
  body: T;
  events?: E[];
  /** The error to throw when the batch fails and no concurrent retry explains it (default: as it is). */
  failure?: (error: unknown) => unknown;
}

/** A write's answer: new (with its events) or the first answer to the same key, replayed (none). */
export interface WriteOutcome<T, E> {
  body: T;
  events: E[];
  replayed: boolean;
}

type Prepare<T, E, R> = (read: R) => PreparedWrite<T, E> | Promise<PreparedWrite<T, E>>;

/**
 * A retry-safe D1 write. With a key, the stored answer is looked up (alongside `read`, in the same
 * round trip) and replayed when there is one; otherwise `prepare` builds the batch and its answer, and
 * the answer is stored in that batch. A batch that loses to a concurrent retry with the same key
 * replays the answer that one stored.
 */
export async function writeOnce<T, E = never>(
  db: Database,
  userId: string,
  idempotency: IdempotencyContext | undefined,
  prepare: Prepare<T, E, undefined>,
): Promise<WriteOutcome<T, E>>;
export async function writeOnce<T, E, R>(
  db: Database,
  userId: string,
  idempotency: IdempotencyContext | undefined,
  prepare: Prepare<T, E, R>,
  read: () => Promise<R>,
): Promise<WriteOutcome<T, E>>;
export async function writeOnce<T, E, R>(
  db: Database,
  userId: string,
  idempotency: IdempotencyContext | undefined,
  prepare: Prepare<T, E, R | undefined>,
  read?: () => Promise<R>,
): Promise<WriteOutcome<T, E>> {
  const [stored, readValue] = await Promise.all([
    idempotency ? findStoredResponse(db, userId, idempotency) : undefined,
    read?.(),
  ]);
  if (stored) return { body: stored.body as T, events: [], replayed: true };
  const write = await prepare(readValue);
  if (idempotency) write.batch.add(storeResponse(db, userId, idempotency, write.status, write.body));
  try {
    await write.batch.run(db);
  } catch (error) {
    // A concurrent retry with the same key may have written first: then its answer is this one's too.
    const raced = idempotency ? await findStoredResponse(db, userId, idempotency) : undefined;
    if (raced) return { body: raced.body as T, events: [], replayed: true };
    throw write.failure ? write.failure(error) : error;
  }
  return { body: write.body, events: write.events ?? [], replayed: false };
}
