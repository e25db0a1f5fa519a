/** The public page of a share (/s/<code>): what link previews read, and what a friend sees. Pure. */
import { shareWords } from "./card-content";
import { escapeHtml, htmlDocument, metaTags } from "./html";
import { shareLinks } from "./share-links";
import type { Snapshot } from "./snapshot";

export function sharePage(snapshot: Snapshot, url: string): string {
  const words = shareWords(snapshot);
  const image = `${url}.png`;
  const links = shareLinks(url, words.title, words.text)
    .map(
      (link) =>
        `<a href="${escapeHtml(link.href)}" data-network="${link.network}" rel="noopener noreferrer" target="_blank">${escapeHtml(link.label)}</a>`,
    )
    .join("\n");
  const head = metaTags({
    title: words.title,
    description: words.description,
    url,
    image,
    imageAlt: `${words.title}. ${words.description}`,
    type: "website",
  });
  const body = [
    `<img class="card" src="${escapeHtml(image)}" width="1200" height="630" alt="${escapeHtml(`${words.title}. ${words.description}`)}">`,
    `<h1>${escapeHtml(words.title)}</h1>`,
    `<p class="muted">${escapeHtml(words.description)}</p>`,
    `<p>${escapeHtml(words.text)}</p>`,
    `<nav class="share" aria-label="Share this">\n${links}\n</nav>`,
  ].join("\n");
  return htmlDocument(words.title, head, body);
}
