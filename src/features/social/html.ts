/** The public pages' frame: escaping, the document around a page, and its security policy. Pure. */
import { escapeHtml } from "../../lib/html";
import { BRAND } from "./card-content";

export { escapeHtml };

/**
 * The pages run no script and load nothing but their own images: a user's words that slipped through
 * escaping could still not run.
 */
export function pagePolicy(imageOrigin: string): string {
  return [
    "default-src 'none'",
    `img-src 'self' ${imageOrigin} data:`,
    "style-src 'unsafe-inline'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export interface Meta {
  title: string;
  description: string;
  url: string;
  image: string;
  imageAlt: string;
  type: "website" | "profile";
}

/** Open Graph and Twitter card tags (summary_large_image), every value escaped. */
export function metaTags(meta: Meta): string {
  const property = (name: string, value: string) =>
    `<meta property="${name}" content="${escapeHtml(value)}">`;
  const named = (name: string, value: string) => `<meta name="${name}" content="${escapeHtml(value)}">`;
  return [
    named("description", meta.description),
    `<link rel="canonical" href="${escapeHtml(meta.url)}">`,
    property("og:type", meta.type),
    property("og:site_name", BRAND),
    property("og:title", meta.title),
    property("og:description", meta.description),
    property("og:url", meta.url),
    property("og:image", meta.image),
    property("og:image:type", "image/png"),
    property("og:image:width", "1200"),
    property("og:image:height", "630"),
    property("og:image:alt", meta.imageAlt),
    named("twitter:card", "summary_large_image"),
    named("twitter:title", meta.title),
    named("twitter:description", meta.description),
    named("twitter:image", meta.image),
    named("twitter:image:alt", meta.imageAlt),
  ].join("\n");
}

const STYLE = `
:root{color-scheme:light dark;--ink:#111827;--muted:#4b5563;--card:#ffffff;--bg:#f3f4f6;--accent:#4338ca}
@media (prefers-color-scheme:dark){:root{--ink:#f9fafb;--muted:#9ca3af;--card:#1f2937;--bg:#111827;--accent:#a5b4fc}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:760px;margin:0 auto;padding:24px 16px 48px}
.brand{font-weight:700;color:var(--accent);margin:0 0 16px;text-decoration:none;display:inline-block}
.card{width:100%;height:auto;border-radius:16px;box-shadow:0 10px 30px rgb(0 0 0/.18);display:block}
h1{font-size:1.8rem;line-height:1.2;margin:24px 0 8px}
p{margin:0 0 12px}
.muted{color:var(--muted)}
nav.share{display:flex;flex-wrap:wrap;gap:8px;margin-top:20px}
nav.share a{padding:8px 14px;border-radius:999px;background:var(--card);color:var(--ink);text-decoration:none;font-weight:600;box-shadow:0 1px 3px rgb(0 0 0/.12)}
nav.share a:hover{background:var(--accent);color:#fff}
section{background:var(--card);border-radius:14px;padding:16px 20px;margin:14px 0;box-shadow:0 1px 3px rgb(0 0 0/.1)}
section h2{font-size:1rem;margin:0 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.big{font-size:2rem;font-weight:800;margin:0}
ul{margin:0;padding-left:20px}
.creature{display:flex;gap:16px;align-items:center}
.creature svg{width:120px;height:120px;flex:none}
`;

/** A whole page: the head (title, tags) and the body's content. */
export function htmlDocument(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · ${BRAND}</title>
${head}
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand">${BRAND}</p>
${body}
</main>
</body>
</html>
`;
}

/** The page a person sees for a link that leads nowhere (unknown, revoked or hidden). */
export function notFoundPage(heading: string, detail: string): string {
  return htmlDocument(
    heading,
    "",
    `<h1>${escapeHtml(heading)}</h1>\n<p class="muted">${escapeHtml(detail)}</p>`,
  );
}
