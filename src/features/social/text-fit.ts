/**
 * Text on the cards: what the bundled fonts can draw, how wide it is, and how it wraps and shortens.
 * resvg draws text without wrapping, so the card lays out its own lines with the fonts' advance widths
 * (font-metrics.ts). Pure.
 */
import { BOLD_WIDTHS, REGULAR_WIDTHS, UNITS_PER_EM } from "./font-metrics";

export type Weight = "regular" | "bold";

function parseWidths(table: string): Map<number, number> {
  const widths = new Map<number, number>();
  for (const pair of table.split(",")) {
    const [cp, width] = pair.split(":");
    widths.set(Number(cp), Number(width));
  }
  return widths;
}

const WIDTHS: Record<Weight, Map<number, number>> = {
  regular: parseWidths(REGULAR_WIDTHS),
  bold: parseWidths(BOLD_WIDTHS),
};

const ELLIPSIS = "…";

/** Pictographs with a drawable stand-in; every other emoji is left out. */
const STAND_INS: Record<string, string> = {
  "❤": "♥",
  "♥": "♥",
  "💖": "♥",
  "💙": "♥",
  "💚": "♥",
  "💜": "♥",
  "🧡": "♥",
  "💛": "♥",
  "⭐": "★",
  "🌟": "★",
  "✨": "★",
  "✅": "✓",
  "✔": "✓",
  "☑": "✓",
  "➡": "→",
  "⬅": "←",
};

const drawable = (cp: number) => WIDTHS.regular.has(cp) && WIDTHS.bold.has(cp);
const allDrawable = (text: string) => [...text].every((ch) => drawable(ch.codePointAt(0) ?? 0));

/**
 * The text with only what the cards' fonts can draw, so nothing renders as an empty box ("tofu"):
 * emoji become a drawable stand-in (♥ ★ ✓ →) or are left out; styled letters (𝐁𝐨𝐥𝐝, full-width) become
 * plain ones; letters with marks the font lacks keep their base letter; other scripts are left out.
 * Spaces are collapsed. May answer "" — callers have a fallback.
 */
export function drawableText(text: string): string {
  let out = "";
  for (const ch of text.normalize("NFC")) {
    const cp = ch.codePointAt(0) ?? 0;
    if (drawable(cp)) {
      out += ch;
      continue;
    }
    const standIn = STAND_INS[ch];
    if (standIn !== undefined) {
      out += standIn;
      continue;
    }
    if (/\s/u.test(ch)) {
      out += " ";
      continue;
    }
    const compatible = ch.normalize("NFKC");
    if (compatible !== ch && allDrawable(compatible)) {
      out += compatible;
      continue;
    }
    // A letter with marks the font lacks: its base letter, when the font has that.
    out += [...ch.normalize("NFD")].filter((part) => drawable(part.codePointAt(0) ?? 0)).join("");
  }
  return out.replace(/ {2,}/g, " ").trim();
}

/** The width of drawable text in pixels at `size`. */
export function textWidth(text: string, size: number, weight: Weight): number {
  const widths = WIDTHS[weight];
  const fallback = widths.get(0x3f) ?? UNITS_PER_EM / 2;
  let units = 0;
  for (const ch of text) units += widths.get(ch.codePointAt(0) ?? 0) ?? fallback;
  return (units / UNITS_PER_EM) * size;
}

export interface TextStyle {
  size: number;
  weight: Weight;
}

/** The line cut to fit `maxWidth` with an ellipsis (always one when `force`). */
export function ellipsize(line: string, maxWidth: number, style: TextStyle, force = false): string {
  if (!force && textWidth(line, style.size, style.weight) <= maxWidth) return line;
  const chars = [...line];
  while (chars.length > 0 && textWidth(chars.join("") + ELLIPSIS, style.size, style.weight) > maxWidth) {
    chars.pop();
  }
  return `${chars.join("").replace(/[\s,;:.–—-]+$/u, "")}${ELLIPSIS}`;
}

/** A word wider than the line, split into pieces that each fit. */
function splitWord(word: string, maxWidth: number, style: TextStyle): string[] {
  const pieces: string[] = [];
  let piece = "";
  for (const ch of word) {
    if (piece && textWidth(piece + ch, style.size, style.weight) > maxWidth) {
      pieces.push(piece);
      piece = ch;
    } else piece += ch;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

export interface Wrapped {
  lines: string[];
  /** True when the text did not fit and the last line ends with an ellipsis. */
  truncated: boolean;
}

/** Greedy word wrap into at most `maxLines` lines of `maxWidth`; what does not fit ends in "…". */
export function wrapText(text: string, maxWidth: number, style: TextStyle, maxLines: number): Wrapped {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ").filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (textWidth(candidate, style.size, style.weight) <= maxWidth) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    const pieces = splitWord(word, maxWidth, style);
    lines.push(...pieces.slice(0, -1));
    line = pieces.at(-1) ?? "";
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return { lines, truncated: false };
  const kept = lines.slice(0, maxLines);
  const last = `${kept[maxLines - 1] ?? ""} ${lines[maxLines] ?? ""}`;
  kept[maxLines - 1] = ellipsize(last, maxWidth, style, true);
  return { lines: kept, truncated: true };
}

/**
 * The largest of `sizes` at which the text fits in `maxLines` whole; else the smallest, shortened.
 */
export function fitText(
  text: string,
  maxWidth: number,
  sizes: readonly number[],
  weight: Weight,
  maxLines: number,
): Wrapped & { size: number } {
  let best: (Wrapped & { size: number }) | undefined;
  for (const size of sizes) {
    best = { ...wrapText(text, maxWidth, { size, weight }, maxLines), size };
    if (!best.truncated) return best;
  }
  return best ?? { lines: [], truncated: false, size: sizes[0] ?? 0 };
}
