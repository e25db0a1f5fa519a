/**
 * Caching of cards and pages. Each carries a strong ETag: the hash of what it is drawn from and the
 * renderer's version, so it changes exactly when the picture would. A PNG drawn once is kept in the
 * Cache API under its code and ETag; the share (or profile) is always looked up first, so revoking or
 * hiding takes effect at once here, whatever the cache holds.
 */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/create-app";
import { sha256Hex } from "../../lib/ids";
import type { CardContent } from "./card-content";
import { cardSvg, RENDERER_VERSION } from "./card-svg";
import { svgToPng } from "./png";
import type { Snapshot } from "./snapshot";

/**
 * What browsers and shared caches may keep without asking: 5 minutes, so a revoked share or hidden
 * profile is gone from them soon, while the ETag makes every later check a cheap 304.
 */
export const PUBLIC_MAX_AGE_SECONDS = 300;
/** How long our own edge cache keeps a drawn PNG (it is looked up only after the share is). */
export const EDGE_CACHE_SECONDS = 7 * 24 * 3600;

/** A strong ETag over the renderer's version and the JSON of `source`. */
export async function etagOf(kind: string, source: unknown): Promise<string> {
  const hash = await sha256Hex(`${kind}:${RENDERER_VERSION}:${JSON.stringify(source)}`);
  return `"${hash.slice(0, 32)}"`;
}

/** The ETag of a share's card. */
export const shareCardEtag = (snapshot: Snapshot) => etagOf("share-card", snapshot);

/** Where a card drawn for `path` at `etag` is kept in the edge cache. */
const cacheKey = (origin: string, path: string, etag: string) =>
  new Request(`${origin}${path}?v=${encodeURIComponent(etag.slice(1, -1))}`);

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

/** If-None-Match against the current ETag (a weak `W/` validator matches its strong twin for GET). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

export function publicCacheHeaders(c: Context<AppEnv>, etag: string): void {
  c.header("ETag", etag);
  c.header("Cache-Control", `public, max-age=${PUBLIC_MAX_AGE_SECONDS}`);
}

/**
 * The card's PNG: from the edge cache when this path and ETag were drawn before, else drawn now and
 * kept. A cache that fails only costs a render.
 */
export async function cardPng(
  c: Context<AppEnv>,
  path: string,
  etag: string,
  content: () => CardContent,
): Promise<{ png: Uint8Array<ArrayBuffer>; hit: boolean }> {
  const key = cacheKey(new URL(c.req.url).origin, path, etag);
  const cache = edgeCache();
  const cached = await cache?.match(key).catch(() => undefined);
  if (cached) return { png: new Uint8Array(await cached.arrayBuffer()), hit: true };
  const png = await svgToPng(cardSvg(content()));
  await cache
    ?.put(
      key,
      new Response(png, {
        headers: { "Content-Type": "image/png", "Cache-Control": `public, max-age=${EDGE_CACHE_SECONDS}` },
      }),
    )
    .catch((error: unknown) =>
      console.warn(JSON.stringify({ level: "warn", message: "card cache put failed", error: String(error) })),
    );
  return { png, hit: false };
}

function edgeCache(): Cache | undefined {
  try {
    return caches.default;
  } catch {
    return undefined;
  }
}
