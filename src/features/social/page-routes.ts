/**
 * The public pages and cards, outside /api/v1 because people open them: /s/<code> and /u/<handle>
 * (HTML), /s/<code>.png and /u/<handle>.png (1200×630 PNG cards). No credential: the code is the
 * capability; a profile shows only what its owner made public.
 *
 * `/s/{code}.png` and `/s/{code}` are one path segment to Hono's router (a parameter takes the whole
 * segment), so each card route is registered first and hands anything not ending in `.png` on to its
 * page route.
 *
 * Every answer that exists carries its ETag and `Cache-Control: public, no-cache`, 304s included: a
 * cache asks again each time, and the answer is one D1 read, then a 304 (or the card from the edge
 * cache). A HEAD of a card answers its headers without drawing it.
 */

import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ifNoneMatchHits } from "../../lib/entity-tags";
import { ApiError, notFound, problemResponse } from "../../lib/errors";
import {
  type CardSource,
  cardPng,
  etagOf,
  etagOfBody,
  publicCacheHeaders,
  shareCardEtag,
} from "./card-cache";
import type { CardContent } from "./card-content";
import { cardContent } from "./card-content";
import { normalisedCode } from "./codes";
import { notFoundPage, pagePolicy } from "./html";
import { profileCard } from "./profile-card";
import { profilePage } from "./profile-page";
import { publicView } from "./profile-service";
import { primaryReads } from "./routes";
import { sharePage } from "./share-page";
import { liveShare, shareUrl } from "./share-service";

const tags = ["Social"];
const PNG = ".png";

const pathParameter = (name: string, description: string) => [
  { name, in: "path" as const, required: true, description, schema: { type: "string" as const } },
];

const pngResponse = {
  description:
    "The card: a 1200×630 PNG. Cache-Control: public, no-cache with a strong ETag (If-None-Match gives a 304); " +
    "Cross-Origin-Resource-Policy: cross-origin, so other sites and link previews may embed it.",
  content: { "image/png": { schema: z.string().openapi({ format: "binary" }) } },
};
const htmlResponse = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string() } },
});

export const shareCardRoute = createRoute({
  method: "get",
  path: "/s/{code}.png",
  tags,
  summary: "A share's card: a 1200×630 PNG, drawn at the edge and cached",
  description:
    "No credential. The same share always gives the same bytes and ETag. Cache-Control: public, no-cache: " +
    "caches ask again each time (If-None-Match → 304), so a revoked or unknown code is 404 at once, for them " +
    "too. Drawn once, then kept in the edge cache; a HEAD answers the headers without drawing.",
  middleware: [primaryReads] as const,
  parameters: pathParameter("code", "The share's code"),
  responses: {
    200: pngResponse,
    304: { description: "Not modified" },
    404: problemResponse("No live share has this code (unknown or revoked)"),
  },
});

export const sharePageRoute = createRoute({
  method: "get",
  path: "/s/{code}",
  tags,
  summary: "A share's public page: Open Graph and Twitter card tags, the card, share links",
  description:
    "No credential; HTML for people and link previews. The ETag is the hash of the HTML; Cache-Control: " +
    "public, no-cache (If-None-Match → 304). A revoked or unknown code is a 404 page (HTML) at once.",
  middleware: [primaryReads] as const,
  parameters: pathParameter("code", "The share's code"),
  responses: {
    200: htmlResponse("The page"),
    304: { description: "Not modified" },
    404: htmlResponse("No live share has this code (unknown or revoked)"),
  },
});

export const profileCardRoute = createRoute({
  method: "get",
  path: "/u/{handle}.png",
  tags,
  summary: "A public profile's card: a 1200×630 PNG of what it showcases",
  description:
    "No credential. Cache-Control: public, no-cache with a strong ETag (If-None-Match → 304). A hidden or " +
    "unknown handle is 404 at once; a HEAD answers the headers without drawing.",
  middleware: [primaryReads] as const,
  parameters: pathParameter("handle", "The profile's handle, in any case"),
  responses: {
    200: pngResponse,
    304: { description: "Not modified" },
    404: problemResponse("No public profile has this handle (unknown or hidden)"),
  },
});

export const profilePageRoute = createRoute({
  method: "get",
  path: "/u/{handle}",
  tags,
  summary: "A public profile page: its showcase, the creature drawn inline, Open Graph tags",
  description:
    "No credential; HTML. The ETag is the hash of the HTML; Cache-Control: public, no-cache (If-None-Match → " +
    "304). A hidden or unknown handle is a 404 page (HTML) at once.",
  middleware: [primaryReads] as const,
  parameters: pathParameter("handle", "The profile's handle, in any case"),
  responses: {
    200: htmlResponse("The page"),
    304: { description: "Not modified" },
    404: htmlResponse("No public profile has this handle (unknown or hidden)"),
  },
});

/**
 * The paths of the cards, the only answers other sites may embed (Cross-Origin-Resource-Policy:
 * cross-origin); everything else keeps same-origin.
 */
export const isCardPath = (path: string) => /^\/[su]\/[^/]+\.png$/.test(path);

/** The segment a route's `{name}.png` parameter read, without `.png`; null for a segment without it. */
function pngSegment(c: Context<AppEnv>, name: string): string | null {
  const segment = c.req.param(`${name}.png`) ?? "";
  return segment.endsWith(PNG) ? segment.slice(0, -PNG.length) : null;
}

/**
 * A card at `etag`: a 304 when the client holds it, its headers alone for a HEAD (nothing drawn), else
 * the PNG from the edge cache or drawn now.
 */
async function cardAnswer(c: Context<AppEnv>, path: string, etag: string, content: () => CardContent) {
  publicCacheHeaders(c, etag);
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  c.header("Content-Type", "image/png");
  if (c.req.method === "HEAD") return c.body(null, 200);
  const { png, source } = await cardPng(c, path, etag, content);
  c.header("X-Card-Cache", source satisfies CardSource);
  return c.body(png, 200);
}

/** A page: its ETag is the hash of its HTML, so it changes whenever the bytes do. */
async function pageAnswer(c: Context<AppEnv>, html: string) {
  const etag = await etagOfBody(html);
  publicCacheHeaders(c, etag);
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return htmlBody(c, html, 200);
}

function htmlBody(c: Context<AppEnv>, html: string, status: 200 | 404) {
  c.header("Content-Type", "text/html; charset=utf-8");
  c.header("Content-Security-Policy", pagePolicy(new URL(c.env.API_BASE_URL).origin));
  return c.body(html, status);
}

/** Where a card is and what it shows; `find` throws a 404 for a share or profile that is not there. */
interface Card {
  path: string;
  etag: string;
  content: () => CardContent;
}

/**
 * A card route's handler: a segment without `.png` goes on to the page route registered after it;
 * otherwise the card `find` locates is answered.
 */
function cardHandler(
  name: "code" | "handle",
  find: (c: Context<AppEnv>, segment: string) => Promise<Card>,
): AppRouteHandler<typeof shareCardRoute | typeof profileCardRoute> {
  return async (c, next) => {
    const segment = pngSegment(c, name);
    if (segment === null) {
      await next();
      return c.res;
    }
    const card = await find(c, segment);
    return cardAnswer(c, card.path, card.etag, card.content);
  };
}

const shareCardHandler = cardHandler("code", async (c, raw) => {
  const code = normalisedCode(raw);
  const share = code ? await liveShare(c.var.db, code) : undefined;
  if (!code || !share) throw notFound("Share");
  return {
    path: `/s/${code}.png`,
    etag: await shareCardEtag(share.snapshot),
    content: () => cardContent(share.snapshot),
  };
});

const sharePageHandler: AppRouteHandler<typeof sharePageRoute> = async (c) => {
  const code = normalisedCode(c.req.param("code") ?? "");
  const share = code ? await liveShare(c.var.db, code) : undefined;
  if (!code || !share) {
    return htmlBody(
      c,
      notFoundPage("This share is not here", "It may have been taken down by the person who shared it."),
      404,
    );
  }
  return pageAnswer(c, sharePage(share.snapshot, shareUrl(c.env.API_BASE_URL, code)));
};

/** The profile's view, or undefined for a hidden or unknown handle. */
async function viewOrNone(c: Context<AppEnv>, handle: string) {
  try {
    return await publicView(c.var.db, c.env.API_BASE_URL, handle);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

const profileCardHandler = cardHandler("handle", async (c, handle) => {
  const view = await viewOrNone(c, handle);
  if (!view) throw notFound("Profile");
  return {
    path: `/u/${view.dto.handle.toLowerCase()}.png`,
    etag: await etagOf("profile-card", view),
    content: () => profileCard(view.dto, view.creature),
  };
});

const profilePageHandler: AppRouteHandler<typeof profilePageRoute> = async (c) => {
  const view = await viewOrNone(c, c.req.param("handle") ?? "");
  if (!view) {
    return htmlBody(c, notFoundPage("No profile here", "This profile does not exist or is not public."), 404);
  }
  return pageAnswer(c, profilePage(view.dto, view.creature));
};

/** Mounted at the root. */
export const socialPagesRouter = createRouter()
  .openapi(shareCardRoute, shareCardHandler)
  .openapi(sharePageRoute, sharePageHandler)
  .openapi(profileCardRoute, profileCardHandler)
  .openapi(profilePageRoute, profilePageHandler);
