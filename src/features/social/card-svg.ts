/**
 * The share card, 1200×630 (the size link previews use): an SVG drawn from the card's content alone —
 * brand, label, a big figure, title, subtitle, and the person's creature (large when it is the subject,
 * small in the corner otherwise). Pure: the same content always draws the same bytes. Text is laid out
 * here (resvg does not wrap) and escaped; the creature is the pets feature's own portrait.
 */
import { portraitSvg } from "../pets/portrait";
import type { CardContent, Figure, Theme } from "./card-content";
import { BRAND } from "./card-content";
import type { Likeness } from "./snapshot";
import { drawableText, ellipsize, fitText, textWidth } from "./text-fit";

export const CARD_WIDTH = 1200;
export const CARD_HEIGHT = 630;
/** Part of every card's ETag: bump it when the drawing changes, so caches let go of old pictures. */
export const RENDERER_VERSION = "card-v1";

const PAD = 72;
const FONT = `font-family="DejaVu Sans"`;
const WHITE = "#ffffff";
const SMALL_CREATURE = 190;
const LARGE_CREATURE = 400;
const PORTRAIT_SIZE = 240;

const MEDALS = {
  bronze: { light: "#f3b27a", dark: "#a0522d" },
  silver: { light: "#f1f5f9", dark: "#7c8a9c" },
  gold: { light: "#fde68a", dark: "#d97706" },
} as const;

/**
 * Characters XML 1.0 forbids (controls but tab and line breaks, lone surrogates, U+FFFE/U+FFFF): one of
 * them makes resvg refuse the whole SVG, so they are dropped whatever the caller did before.
 */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text for SVG: characters XML cannot hold dropped, markup characters escaped. */
export const escapeXml = (text: string) =>
  text.replace(NOT_XML, "").replace(/[&<>"']/g, (ch) => `&#${ch.codePointAt(0)};`);

const n = (value: number) => (Math.round(value * 10) / 10).toString();

function text(
  content: string,
  x: number,
  y: number,
  style: { size: number; bold?: boolean; fill?: string; opacity?: number; anchor?: string; spacing?: number },
): string {
  const attrs = [
    FONT,
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${style.size}"`,
    `font-weight="${style.bold ? 700 : 400}"`,
    `fill="${style.fill ?? WHITE}"`,
    style.opacity === undefined ? "" : `fill-opacity="${style.opacity}"`,
    style.anchor ? `text-anchor="${style.anchor}"` : "",
    style.spacing ? `letter-spacing="${style.spacing}"` : "",
  ].filter(Boolean);
  return `<text ${attrs.join(" ")}>${escapeXml(content)}</text>`;
}

/** The pets feature's portrait, placed at (x, y) and scaled to `size`, with a soft shadow. */
function creature(likeness: Likeness, x: number, y: number, size: number): string {
  const svg = portraitSvg({
    seed: likeness.seed,
    species: likeness.species,
    stage: likeness.stage,
    mood: likeness.mood,
  });
  const inner = svg.replace(/^<svg[^>]*>/, "").replace(/<\/svg>\s*$/, "");
  const scale = size / PORTRAIT_SIZE;
  const radius = 32 * scale;
  return (
    `<rect x="${n(x + 6)}" y="${n(y + 10)}" width="${size}" height="${size}" rx="${n(radius)}" fill="#000" fill-opacity="0.18"/>` +
    `<g transform="translate(${n(x)} ${n(y)}) scale(${Math.round(scale * 10_000) / 10_000})">${inner}</g>`
  );
}

function brand(theme: Theme): string {
  return (
    `<rect x="${PAD}" y="52" width="46" height="46" rx="12" fill="${WHITE}"/>` +
    `<path d="M${PAD + 11} 76 l9 9 l16 -18" fill="none" stroke="${theme.from}" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/>` +
    text(BRAND, PAD + 62, 87, { size: 30, bold: true })
  );
}

function label(content: string): string {
  const spacing = 3;
  const width = textWidth(content, 22, "bold") + spacing * (content.length - 1) + 40;
  return (
    `<rect x="${PAD}" y="128" width="${n(width)}" height="44" rx="22" fill="${WHITE}" fill-opacity="0.16"/>` +
    text(content, PAD + 20, 158, { size: 22, bold: true, spacing })
  );
}

const FIGURE_CENTRE = { x: PAD + 84, y: 282 };

/** A five-pointed star centred on (cx, cy). */
function star(cx: number, cy: number, outer: number, fill: string): string {
  const points: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? outer : outer * 0.45;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    points.push(`${n(cx + r * Math.cos(angle))},${n(cy + r * Math.sin(angle))}`);
  }
  return `<polygon points="${points.join(" ")}" fill="${fill}"/>`;
}

function figure(figureOf: Figure, theme: Theme): string {
  if (figureOf === null) return "";
  const { x, y } = FIGURE_CENTRE;
  switch (figureOf.type) {
    case "number": {
      const size = 168;
      const before = figureOf.before
        ? text(figureOf.before, PAD, 350, { size: 52, bold: true, opacity: 0.9 })
        : "";
      const numberX = figureOf.before ? PAD + textWidth(figureOf.before, 52, "bold") + 22 : PAD - 6;
      const width = textWidth(figureOf.text, size, "bold");
      return (
        before +
        text(figureOf.text, numberX, 350, { size, bold: true, fill: theme.accent }) +
        (figureOf.unit
          ? text(figureOf.unit, numberX + width + 24, 350, { size: 52, bold: true, opacity: 0.9 })
          : "")
      );
    }
    case "medal": {
      const medal = MEDALS[figureOf.tier];
      return (
        `<path d="M${x - 44} ${y + 36} l-22 60 l28 -10 l16 22 l20 -62 z" fill="#ef4444"/>` +
        `<path d="M${x + 44} ${y + 36} l22 60 l-28 -10 l-16 22 l-20 -62 z" fill="#3b82f6"/>` +
        `<circle cx="${x}" cy="${y}" r="82" fill="${medal.dark}"/>` +
        `<circle cx="${x}" cy="${y}" r="70" fill="${medal.light}"/>` +
        `<circle cx="${x}" cy="${y}" r="70" fill="none" stroke="${medal.dark}" stroke-opacity="0.35" stroke-width="4" stroke-dasharray="6 8"/>` +
        star(x, y + 2, 48, medal.dark)
      );
    }
    case "check":
      return (
        `<circle cx="${x}" cy="${y}" r="82" fill="${theme.accent}"/>` +
        `<path d="M${x - 40} ${y + 2} l28 28 l54 -58" fill="none" stroke="${theme.from}" stroke-width="20" stroke-linecap="round" stroke-linejoin="round"/>`
      );
    case "progress": {
      const r = 70;
      const share = Math.min(1, Math.max(0, figureOf.percent / 100));
      const angle = -Math.PI / 2 + share * 2 * Math.PI;
      const large = share > 0.5 ? 1 : 0;
      const arc =
        share >= 1
          ? `<circle cx="${x}" cy="${y}" r="${r}" fill="none" stroke="${theme.accent}" stroke-width="20"/>`
          : share > 0
            ? `<path d="M${x} ${y - r} A${r} ${r} 0 ${large} 1 ${n(x + r * Math.cos(angle))} ${n(y + r * Math.sin(angle))}" fill="none" stroke="${theme.accent}" stroke-width="20" stroke-linecap="round"/>`
            : "";
      return (
        `<circle cx="${x}" cy="${y}" r="${r}" fill="none" stroke="${WHITE}" stroke-opacity="0.2" stroke-width="20"/>` +
        arc +
        text(`${figureOf.percent}%`, x, y + 16, { size: 44, bold: true, anchor: "middle" })
      );
    }
  }
}

/** The card's SVG. */
export function cardSvg(content: CardContent): string {
  const { theme } = content;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CARD_WIDTH}" height="${CARD_HEIGHT}" viewBox="0 0 ${CARD_WIDTH} ${CARD_HEIGHT}">`,
    `<defs><linearGradient id="card-bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${theme.from}"/><stop offset="1" stop-color="${theme.to}"/></linearGradient></defs>`,
    `<rect width="${CARD_WIDTH}" height="${CARD_HEIGHT}" fill="url(#card-bg)"/>`,
    `<circle cx="1110" cy="-30" r="270" fill="${WHITE}" fill-opacity="0.07"/>`,
    `<circle cx="-40" cy="680" r="230" fill="${WHITE}" fill-opacity="0.06"/>`,
    brand(theme),
    label(content.label),
    figure(content.figure, theme),
  ];

  let textRight = CARD_WIDTH - PAD;
  if (content.creature && content.creatureLarge) {
    const x = CARD_WIDTH - PAD - LARGE_CREATURE;
    parts.push(creature(content.creature, x, 130, LARGE_CREATURE));
    textRight = x - 48;
  } else if (content.creature) {
    const x = CARD_WIDTH - PAD - SMALL_CREATURE;
    const y = CARD_HEIGHT - 52 - SMALL_CREATURE - 34;
    parts.push(creature(content.creature, x, y, SMALL_CREATURE));
    // The person's words: only what the fonts draw (a name of emoji or controls draws no name at all).
    const drawable = drawableText(content.creature.name);
    if (drawable) {
      const name = ellipsize(drawable, SMALL_CREATURE + 40, { size: 22, weight: "bold" });
      parts.push(
        text(name, x + SMALL_CREATURE / 2, CARD_HEIGHT - 40, { size: 22, bold: true, anchor: "middle" }),
      );
    }
    textRight = x - 40;
  }
  const maxWidth = textRight - PAD;

  // Without a figure the title takes its place, larger.
  const hasFigure = content.figure !== null;
  const title = fitText(content.title, maxWidth, hasFigure ? [60, 52, 44] : [84, 72, 60, 48], "bold", 2);
  let y = hasFigure ? 448 : 290;
  const lineHeight = Math.round(title.size * 1.16);
  for (const line of title.lines) {
    parts.push(text(line, PAD, y, { size: title.size, bold: true }));
    y += lineHeight;
  }
  if (content.subtitle) {
    const subtitle = fitText(content.subtitle, maxWidth, [30, 26], "regular", title.lines.length > 1 ? 1 : 2);
    y += 58 - lineHeight;
    for (const line of subtitle.lines) {
      parts.push(text(line, PAD, y, { size: subtitle.size, opacity: 0.85 }));
      y += Math.round(subtitle.size * 1.3);
    }
  }
  parts.push("</svg>");
  return parts.join("");
}
