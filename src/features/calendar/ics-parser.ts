/**
 * A small RFC 5545 reader: unfolds lines (§3.1), splits content lines into name, parameters and value
 * (§3.1, §3.2), and nests BEGIN/END into components. Every content line keeps the physical line it
 * started on, so whatever is wrong in a file can be pointed at. No I/O.
 */

/** Something in the file breaks the format; `line` is 1-based, as an editor counts. */
export class IcsSyntaxError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.name = "IcsSyntaxError";
    this.line = line;
  }
}

export interface ContentLine {
  /** Upper-cased, as names are case-insensitive. */
  name: string;
  /** Parameter names upper-cased; values unquoted. A parameter may carry several values. */
  params: Record<string, string[]>;
  value: string;
  line: number;
}

export interface IcsComponent {
  name: string;
  properties: ContentLine[];
  components: IcsComponent[];
  line: number;
}

/** The file holds more content lines than one import reads. */
export class TooManyLinesError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`The calendar has more than ${limit} content lines.`);
    this.name = "TooManyLinesError";
    this.limit = limit;
  }
}

/** Components nested deeper than this are not calendars (VCALENDAR > VEVENT > VALARM is three). */
const MAX_DEPTH = 8;
/**
 * Content lines one file may hold: 50,000 is a few thousand events, far beyond any one calendar's
 * import, while a MiB of two-byte lines would otherwise be half a million objects (tens of MB).
 */
export const MAX_CONTENT_LINES = 50_000;
const NAME = /^[A-Za-z0-9-]+$/;

interface LogicalLine {
  text: string;
  line: number;
}

/**
 * Physical lines joined where a line starting with a space or tab continues the one before; blank
 * lines left out. Read one at a time, so a file of many lines is never held as an array of them.
 */
function* unfold(text: string, maxLines: number): Generator<LogicalLine> {
  const source = text.replace(/^\uFEFF/, "");
  const breaks = /\r\n|\n|\r/g;
  let pending: LogicalLine | undefined;
  let count = 0;
  let index = 0;
  for (let at = 0; at <= source.length; index += 1) {
    breaks.lastIndex = at;
    const found = breaks.exec(source);
    const end = found ? found.index : source.length;
    const raw = source.slice(at, end);
    at = found ? end + found[0].length : source.length + 1;
    if ((raw.startsWith(" ") || raw.startsWith("\t")) && pending) {
      pending.text += raw.slice(1);
      continue;
    }
    if (pending && pending.text.trim() !== "") yield pending;
    pending = { text: raw, line: index + 1 };
    if (raw.trim() !== "") {
      count += 1;
      if (count > maxLines) throw new TooManyLinesError(maxLines);
    }
  }
  if (pending && pending.text.trim() !== "") yield pending;
}

/** `NAME;P1=a,"b:c";P2=d:value` → its parts. Quoted parameter values may hold `:`, `;` and `,`. */
export function parseContentLine(text: string, line: number): ContentLine {
  let i = 0;
  const readName = (what: string) => {
    const start = i;
    while (i < text.length && text[i] !== ";" && text[i] !== ":" && text[i] !== "=") i += 1;
    const name = text.slice(start, i);
    if (!NAME.test(name)) {
      throw new IcsSyntaxError(line, `"${shorten(text)}" does not start with a ${what} name.`);
    }
    return name.toUpperCase();
  };
  const name = readName("property");
  const params: Record<string, string[]> = {};
  while (text[i] === ";") {
    i += 1;
    const param = readName("parameter");
    if (text[i] !== "=") throw new IcsSyntaxError(line, `Parameter ${param} of ${name} has no value.`);
    i += 1;
    const values: string[] = [];
    for (;;) {
      if (text[i] === '"') {
        const close = text.indexOf('"', i + 1);
        if (close < 0) throw new IcsSyntaxError(line, `A quoted value of ${name};${param} is never closed.`);
        values.push(text.slice(i + 1, close));
        i = close + 1;
      } else {
        const start = i;
        while (i < text.length && !";:,".includes(text[i] ?? "")) i += 1;
        values.push(text.slice(start, i));
      }
      if (text[i] !== ",") break;
      i += 1;
    }
    params[param] = values;
  }
  if (text[i] !== ":") throw new IcsSyntaxError(line, `${name} has no ":" before its value.`);
  return { name, params, value: text.slice(i + 1), line };
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export interface ParseOptions {
  /**
   * Components under the calendar to keep; others (VTIMEZONE, and any inside a kept one such as
   * VALARM) are still checked for their form, but neither they nor the calendar's own properties
   * are kept. Everything is kept when absent.
   */
  keep?: ReadonlySet<string>;
  maxLines?: number;
}

/**
 * The calendar objects of a file, as one VCALENDAR (a file may hold several one after the other;
 * their components are read together). Throws IcsSyntaxError for a file that is not iCalendar:
 * no BEGIN:VCALENDAR first, a line that is not a content line, BEGIN and END that do not pair up;
 * TooManyLinesError past `maxLines` content lines.
 */
export function parseIcs(text: string, options: ParseOptions = {}): IcsComponent {
  const { keep } = options;
  const lines = unfold(text, options.maxLines ?? MAX_CONTENT_LINES);
  const head = lines.next();
  const first = head.done ? undefined : head.value;
  if (!first || !/^BEGIN:VCALENDAR$/i.test(first.text.trim())) {
    throw new IcsSyntaxError(first?.line ?? 1, "An iCalendar file starts with BEGIN:VCALENDAR.");
  }
  const root: IcsComponent = { name: "VCALENDAR", properties: [], components: [], line: first.line };
  // Each open component, and whether what it holds is kept.
  const stack: { component: IcsComponent; kept: boolean }[] = [];
  const read = (logical: LogicalLine) => {
    const { text: raw, line } = logical;
    const content = parseContentLine(raw.trimEnd(), line);
    if (content.name === "BEGIN") {
      const name = content.value.trim().toUpperCase();
      if (!NAME.test(name)) throw new IcsSyntaxError(line, "BEGIN names no component.");
      if (stack.length === 0 && name !== "VCALENDAR") {
        throw new IcsSyntaxError(line, `BEGIN:${name} is outside any VCALENDAR.`);
      }
      if (stack.length >= MAX_DEPTH) throw new IcsSyntaxError(line, "Components are nested too deep.");
      const parent = stack.at(-1);
      const component = stack.length === 0 ? root : { name, properties: [], components: [], line: line };
      let kept = !keep;
      if (parent && !keep) parent.component.components.push(component);
      else if (stack.length === 1 && keep?.has(name)) {
        root.components.push(component);
        kept = true;
      }
      stack.push({ component, kept });
      return;
    }
    const open = stack.at(-1);
    if (!open) throw new IcsSyntaxError(line, `${content.name} is outside any VCALENDAR.`);
    if (content.name === "END") {
      const name = content.value.trim().toUpperCase();
      if (name !== open.component.name) {
        throw new IcsSyntaxError(
          line,
          `END:${name} does not close BEGIN:${open.component.name} of line ${open.component.line}.`,
        );
      }
      stack.pop();
      return;
    }
    if (open.kept) open.component.properties.push(content);
  };
  read(first);
  for (const logical of lines) read(logical);
  const unclosed = stack.at(-1)?.component;
  if (unclosed) {
    throw new IcsSyntaxError(
      unclosed.line,
      `BEGIN:${unclosed.name} on line ${unclosed.line} is never closed.`,
    );
  }
  return root;
}

/** The first property of that name, if any. */
export function propertyOf(component: IcsComponent, name: string): ContentLine | undefined {
  return component.properties.find((p) => p.name === name);
}

export function propertiesOf(component: IcsComponent, name: string): ContentLine[] {
  return component.properties.filter((p) => p.name === name);
}

/** A parameter's first value, if present. */
export function paramOf(property: ContentLine, name: string): string | undefined {
  return property.params[name]?.[0];
}
