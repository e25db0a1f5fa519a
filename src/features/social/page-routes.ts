/**
 * The public pages and cards, outside /api/v1 because people open them: /s/<code> and /u/<handle>
 * (HTML), /s/<code>.png and /u/<handle>.png (1200×630 PNG cards). No credential: the code is the
 * capability; a profile shows only what its owner made public.
 *
 * `/s/{code}.png` and `/s/{code}` are one path segment to Hono's router (a parameter takes the whole
 * segment), so each card route is registered first and hands anything not ending in `.png` on to its
 * page route.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError, notFound, problemResponse } from "../../lib/errors";
import { cardPng, etagOf, notModified, publicCacheHeaders, shareCardEtag } from "./card-cache";
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
  description: "The card: a 1200×630 PNG (ETag; If-None-Match gives a 304)",
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
    "No credential. The same share always gives the same bytes and ETag (If-None-Match → 304). A revoked or " +
    "unknown code is 404 at once.",
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
    "No credential; HTML for people and link previews. A revoked or unknown code is a 404 page (HTML) at once.",
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
  description: "No credential. ETag; If-None-Match → 304. A hidden or unknown handle is 404.",
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
  description: "No credential; HTML. A hidden or unknown handle is a 404 page (HTML).",
  middleware: [primaryReads] as const,
  parameters: pathParameter("handle", "The profile's handle, in any case"),
  responses: {
    200: htmlResponse("The page"),
    304: { description: "Not modified" },
    404: htmlResponse("No public profile has this handle (unknown or hidden)"),
  },
});

/** The segment a route's `{name}.png` parameter read, without `.png`; null for a segment without it. */
function pngSegment(c: Context<AppEnv>, name: string): string | null {
  const segment = c.req.param(`${name}.png`) ?? "";
  return segment.endsWith(PNG) ? segment.slice(0, -PNG.length) : null;
}

function pngBody(c: Context<AppEnv>, png: Uint8Array<ArrayBuffer>, hit: boolean) {
  c.header("Content-Type", "image/png");
  // Link previews and other sites may embed the card (the default policy would block that).
  c.header("Cross-Origin-Resource-Policy", "cross-origin");
  c.header("X-Card-Cache", hit ? "hit" : "miss");
  return c.body(png, 200);
}

function htmlBody(c: Context<AppEnv>, html: string, status: 200 | 404) {
  c.header("Content-Type", "text/html; charset=utf-8");
  c.header("Content-Security-Policy", pagePolicy(new URL(c.env.API_BASE_URL).origin));
  return c.body(html, status);
}

const shareCardHandler: AppRouteHandler<typeof shareCardRoute> = async (c, next) => {
  const raw = pngSegment(c, "code");
  if (raw === null) {
    await next();
    return c.res;
  }
  const code = normalisedCode(raw);
  const share = code ? await liveShare(c.var.db, code) : undefined;
  if (!code || !share) throw notFound("Share");
  const etag = await shareCardEtag(share.snapshot);
  publicCacheHeaders(c, etag);
  if (notModified(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  const { png, hit } = await cardPng(c, `/s/${code}.png`, etag, () => cardContent(share.snapshot));
  return pngBody(c, png, hit);
};

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
  const url = shareUrl(c.env.API_BASE_URL, code);
  const etag = await etagOf("share-page", { url, snapshot: share.snapshot });
  publicCacheHeaders(c, etag);
  if (notModified(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return htmlBody(c, sharePage(share.snapshot, url), 200);
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

const profileCardHandler: AppRouteHandler<typeof profileCardRoute> = async (c, next) => {
  const handle = pngSegment(c, "handle");
  if (handle === null) {
    await next();
    return c.res;
  }
  const view = await viewOrNone(c, handle);
  if (!view) throw notFound("Profile");
  const etag = await etagOf("profile-card", view);
  publicCacheHeaders(c, etag);
  if (notModified(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  const key = `/u/${view.dto.handle.toLowerCase()}.png`;
  const { png, hit } = await cardPng(c, key, etag, () => profileCard(view.dto, view.creature));
  return pngBody(c, png, hit);
};

const profilePageHandler: AppRouteHandler<typeof profilePageRoute> = async (c) => {
  const view = await viewOrNone(c, c.req.param("handle") ?? "");
  if (!view) {
    return htmlBody(c, notFoundPage("No profile here", "This profile does not exist or is not public."), 404);
  }
  const etag = await etagOf("profile-page", view);
  publicCacheHeaders(c, etag);
  if (notModified(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  return htmlBody(c, profilePage(view.dto, view.creature), 200);
};

/** Mounted at the root. */
export const socialPagesRouter = createRouter()
  .openapi(shareCardRoute, shareCardHandler)
  .openapi(sharePageRoute, sharePageHandler)
  .openapi(profileCardRoute, profileCardHandler)
  .openapi(profilePageRoute, profilePageHandler);
