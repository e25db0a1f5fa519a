/**
 * Caching of cards and pages. Each carries a strong ETag that changes exactly when its bytes would: a
 * page's is the hash of its HTML (cheap to draw again); a card's is the hash of what it is drawn from
 * and the renderer's version (drawing it costs 40–60 ms, so it is drawn only on a miss). A PNG drawn
 * once is kept in the Cache API under its path and ETag. The share (or profile) is always looked up
 * first, so revoking or hiding takes effect at once here, whatever the cache holds.
 */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/create-app";
import { loggableError } from "../../lib/db-errors";
import { sha256Hex } from "../../lib/ids";
import type { CardContent } from "./card-content";
import { cardSvg, RENDERER_VERSION } from "./card-svg";
import { svgToPng } from "./png";
import type { Snapshot } from "./snapshot";

/**
 * Browsers and shared caches may store pages and cards but must ask again before each use (with the
 * ETag: one D1 read, then a 304): a revoked share or a hidden profile is gone from them at once too.
 */
export const PUBLIC_CACHE_CONTROL = "public, no-cache";
/** How long our own edge cache keeps a drawn PNG (it is looked up only after the share is). */
export const EDGE_CACHE_SECONDS = 7 * 24 * 3600;

const strongEtag = (hash: string) => `"${hash.slice(0, 32)}"`;

/** A strong ETag over the renderer's version and the JSON of `source`: for what is costly to draw. */
export async function etagOf(kind: string, source: unknown): Promise<string> {
  return strongEtag(await sha256Hex(`${kind}:${RENDERER_VERSION}:${JSON.stringify(source)}`));
}

/** A strong ETag of the bytes themselves: for what is cheap to draw (the HTML pages). */
export async function etagOfBody(body: string): Promise<string> {
  return strongEtag(await sha256Hex(body));
}

/** The ETag of a share's card. */
export const shareCardEtag = (snapshot: Snapshot) => etagOf("share-card", snapshot);

/** Where a card drawn for `path` at `etag` is kept in the edge cache. */
const cacheKey = (origin: string, path: string, etag: string) =>
  `${origin}${path}?v=${encodeURIComponent(etag.slice(1, -1))}`;

/**
 * Drops a revoked share's card from this location's cache. Only good manners: every lookup reads the
 * share first, so the card is unreachable anyway, and other locations let it expire.
 */
export async function forgetShareCard(origin: string, code: string, snapshot: Snapshot): Promise<void> {
  const key = cacheKey(origin, `/s/${code}.png`, await shareCardEtag(snapshot));
  await edgeCache()
    ?.delete(key)
    .catch(() => false);
}

/** Set on every answer of a page or card that exists, the 304s included (a 304 updates what is kept). */
export function publicCacheHeaders(c: Context<AppEnv>, etag: string): void {
  c.header("ETag", etag);
  c.header("Cache-Control", PUBLIC_CACHE_CONTROL);
}

/** Where the card's bytes came from: the edge cache, a drawing by this request, or one under way. */
export type CardSource = "hit" | "miss" | "shared";

/**
 * The cards being drawn in this isolate, by cache key, until the edge cache holds them: requests that
 * arrive meanwhile wait for that drawing instead of starting their own. Only the drawing (CPU, no I/O
 * of any request) is shared, so no request waits on another's connection.
 */
const drawing = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
let renders = 0;

/** How many cards this isolate has drawn (a seam for tests: concurrent first requests draw once). */
export const cardRenders = () => renders;

/** After-response work where the runtime offers it (a request), else awaited. */
function afterResponse(c: Context<AppEnv>, work: Promise<unknown>): Promise<unknown> {
  try {
    c.executionCtx.waitUntil(work);
    return Promise.resolve();
  } catch {
    return work;
  }
}

/**
 * The card's PNG: from the edge cache when this path and ETag were drawn before, else from a drawing
 * already under way in this isolate, else drawn now and put in the cache after the answer. A cache
 * that fails only costs a render.
 */
export async function cardPng(
  c: Context<AppEnv>,
  path: string,
  etag: string,
  content: () => CardContent,
): Promise<{ png: Uint8Array<ArrayBuffer>; source: CardSource }> {
  const key = cacheKey(new URL(c.req.url).origin, path, etag);
  const cache = edgeCache();
  const pending = drawing.get(key);
  if (pending) return { png: await pending, source: "shared" };
  const cached = await cache?.match(key).catch(() => undefined);
  if (cached) return { png: new Uint8Array(await cached.arrayBuffer()), source: "hit" };
  // A drawing may have started while this request read the cache.
  const started = drawing.get(key);
  if (started) return { png: await started, source: "shared" };

  const render = Promise.resolve().then(() => {
    renders += 1;
    return svgToPng(cardSvg(content()));
  });
  drawing.set(key, render);
  let png: Uint8Array<ArrayBuffer>;
  try {
    png = await render;
  } catch (error) {
    drawing.delete(key);
    throw error;
  }
  const kept = (cache?.put(key, pngForCache(png)) ?? Promise.resolve())
    .catch((error: unknown) =>
      console.warn(
        JSON.stringify({ level: "warn", message: "card cache put failed", error: loggableError(error) }),
      ),
    )
    .finally(() => drawing.delete(key));
  await afterResponse(c, kept);
  return { png, source: "miss" };
}

const pngForCache = (png: Uint8Array<ArrayBuffer>) =>
  new Response(png.slice(), {
    headers: { "Content-Type": "image/png", "Cache-Control": `public, max-age=${EDGE_CACHE_SECONDS}` },
  });

function edgeCache(): Cache | undefined {
  try {
    return caches.default;
  } catch {
    return undefined;
  }
}
