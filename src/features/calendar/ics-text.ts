/**
 * The text layer of RFC 5545 both ways: TEXT escaping (§3.3.11), line folding (§3.1) and the
 * DATE / DATE-TIME forms the feed writes (§3.3.4, §3.3.5). No I/O.
 */

export const CRLF = "\r\n";

/** §3.1: lines SHOULD NOT be longer than 75 octets, excluding the line break. */
const MAX_LINE_OCTETS = 75;

const encoder = new TextEncoder();

/** Control characters TEXT may not hold (§3.3.11: CONTROL), line breaks and tab aside. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to remove.
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * A TEXT value as written: other control characters dropped, backslash, semicolon and comma escaped,
 * every line break as `\n`.
 */
export function escapeText(text: string): string {
  return text
    .replace(CONTROLS, "")
    .replaceAll("\\", "\\\\")
    .replaceAll(";", "\\;")
    .replaceAll(",", "\\,")
    .replace(/\r\n|\r|\n/g, "\\n");
}

/** A TEXT value as meant: `\n` and `\N` are line breaks, any other escaped character stands for itself. */
export function unescapeText(value: string): string {
  return value.replace(/\\(.)/gs, (_match, next: string) => (next === "n" || next === "N" ? "\n" : next));
}

/**
 * At most `max` characters of `text`, counted in code points, so an emoji is never cut in half;
 * `ellipsis` is added when something was cut.
 */
export function cutText(text: string, max: number, ellipsis = ""): string {
  if (text.length <= max) return text;
  let end = 0;
  let count = 0;
  for (const char of text) {
    if (count === max) return text.slice(0, end) + ellipsis;
    end += char.length;
    count += 1;
  }
  return text;
}

/**
 * One content line folded into lines of at most 75 octets, each continuation starting with a space.
 * Folds fall between characters, never inside a multi-byte UTF-8 sequence (clients would show �).
 */
export function foldLine(line: string): string {
  if (encoder.encode(line).length <= MAX_LINE_OCTETS) return line;
  const pieces: string[] = [];
  let current = "";
  let octets = 0;
  // The first line has 75 octets of room; continuations 74, after their leading space.
  let room = MAX_LINE_OCTETS;
  for (const char of line) {
    const size = encoder.encode(char).length;
    if (octets + size > room) {
      pieces.push(current);
      current = "";
      octets = 0;
      room = MAX_LINE_OCTETS - 1;
    }
    current += char;
    octets += size;
  }
  pieces.push(current);
  return pieces.join(`${CRLF} `);
}

/** An instant as a UTC DATE-TIME: `20261124T183000Z` (seconds kept, milliseconds dropped). */
export function formatUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replaceAll("-", "")
    .replaceAll(":", "");
}

/** A calendar date "YYYY-MM-DD" as a DATE value: `20261124`. */
export function formatDate(date: string): string {
  return date.replaceAll("-", "");
}
