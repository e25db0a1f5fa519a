/**
 * Serialises iCalendar components: content lines with their parameters (§3.1, §3.2), folded and
 * joined with CRLF. Values arrive already in their iCalendar form (escaped TEXT, formatted dates).
 */
import { CRLF, foldLine } from "./ics-text";

export interface IcsProperty {
  name: string;
  params?: Record<string, string>;
  value: string;
}

/** A parameter value is quoted when it holds a character that would end it (`:`, `;`, `,`). */
function paramValue(value: string): string {
  const clean = value.replaceAll('"', "'");
  return /[:;,]/.test(clean) ? `"${clean}"` : clean;
}

/** `NAME;PARAM=value:VALUE`, unfolded. */
export function contentLine(property: IcsProperty): string {
  const params = Object.entries(property.params ?? {})
    .map(([name, value]) => `;${name}=${paramValue(value)}`)
    .join("");
  return `${property.name}${params}:${property.value}`;
}

/** One component's content lines, its children between its BEGIN and END. */
export function componentLines(name: string, properties: IcsProperty[], children: string[][] = []): string[] {
  return [`BEGIN:${name}`, ...properties.map(contentLine), ...children.flat(), `END:${name}`];
}

/** The calendar stream: every line folded to 75 octets, CRLF after each (the last one included). */
export function serializeLines(lines: string[]): string {
  return lines.map(foldLine).join(CRLF) + CRLF;
}
