/**
 * Reads an export document as a stream, row by row, whatever its whitespace: the restore takes a file
 * of 100,000 tasks without holding it. A small scanner finds the boundaries of the document's values
 * (the top-level fields, and each element of each table's array) and JSON.parse reads each one;
 * `readExport` then checks everything against the format (version, tables, row shapes, live state,
 * the summary's counts) and stops at the first thing wrong, saying what and where.
 */
import type { z } from "@hono/zod-openapi";
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  ExportHeaderSchema,
  type ExportSummary,
  ExportSummarySchema,
  exportedTable,
  type LiveSection,
  LiveSectionSchema,
  rowSchema,
} from "./format";

/** What the scanner finds, in document order. */
export type ScannedItem =
  | { kind: "field"; name: string; value: unknown }
  | { kind: "table"; name: string }
  | { kind: "row"; table: string; value: unknown; end?: number };

export class ExportFormatError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ExportFormatError";
  }
}

const Mode = {
  RootStart: 0,
  RootKey: 1,
  RootKeyOrEnd: 2,
  RootColon: 3,
  RootValue: 4,
  RootNext: 5,
  TablesKey: 6,
  TablesKeyOrEnd: 7,
  TablesColon: 8,
  TableStart: 9,
  TableNext: 10,
  TableValue: 11,
  TableValueOrEnd: 12,
  TablesNext: 13,
  Done: 14,
} as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/** UTF-8 bytes of text[from, to). */
export function utf8Length(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}
/**
 * The longest value (a row, a header field, a name) the scanner holds, in characters: twice D1's
 * 2,000,000-byte row limit, so any row D1 can store fits with its JSON escapes — and a file that is one
 * endless string is refused at this size instead of filling memory.
 */
export const MAX_VALUE_CHARS = 4_000_000;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Finds values' boundaries in pushed text (any chunking) and emits each whole value once read. */
export class ExportScanner {
  private mode: Mode = Mode.RootStart;
  private key = "";
  private table = "";
  /** The text of the value (or key) being read, from chunks before the current one. */
  private pending = "";
  private capturing: "value" | "key" | null = null;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private primitive = false;
  private position = 0;
  /** UTF-8 bytes of the text pushed before the current chunk (plus `startBytes`). */
  private bytes = 0;

  /**
   * A scanner that starts inside table `table`'s array, right after one of its rows: where a reader
   * resumes a file at a row boundary (rows carry `end`, the byte offset just after them).
   */
  static resumingInTable(table: string, startBytes: number): ExportScanner {
    const scanner = new ExportScanner();
    scanner.mode = Mode.TableNext;
    scanner.table = table;
    scanner.bytes = startBytes;
    return scanner;
  }

  push(text: string): ScannedItem[] {
    const out: ScannedItem[] = [];
    let start = this.capturing ? 0 : -1;
    let i = 0;
    let mark = 0;
    let markBytes = this.bytes;
    // Rows learn the byte offset just after them (counted lazily, from the last row's end).
    const ended = (at: number, before: number) => {
      const last = out.at(-1);
      if (out.length === before || last?.kind !== "row") return;
      markBytes += utf8Length(text, mark, at);
      mark = at;
      last.end = markBytes;
    };
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (this.capturing) {
        const ending = this.step(c);
        if (ending === "after") {
          const before = out.length;
          this.finish(this.pending + text.slice(start, i + 1), out);
          ended(i + 1, before);
          start = -1;
        } else if (ending === "before") {
          // A number, true, false or null ends at the first character that is not part of it.
          const before = out.length;
          this.finish(this.pending + text.slice(start, i), out);
          ended(i, before);
          start = -1;
          continue;
        }
        i += 1;
        continue;
      }
      if (!isSpace(c)) {
        const begins = this.structural(c);
        if (begins) {
          start = i;
          this.pending = "";
          this.capturing = begins;
          this.depth = 0;
          this.inString = false;
          this.escaped = false;
          this.primitive = false;
          continue;
        }
      }
      i += 1;
    }
    if (this.capturing && start >= 0) {
      if (this.pending.length + (text.length - start) > MAX_VALUE_CHARS) this.tooLarge();
      this.pending += text.slice(start);
    }
    this.position += text.length;
    this.bytes = markBytes + utf8Length(text, mark, text.length);
    return out;
  }

  /** The document must be whole: anything else is a file cut short. */
  end(): ScannedItem[] {
    const out: ScannedItem[] = [];
    if (this.capturing === "value" && this.primitive) {
      this.finish(this.pending, out);
    }
    if (this.mode !== Mode.Done)
      throw new ExportFormatError("The file ends before the document does: it was cut short.");
    return out;
  }

  private tooLarge(): never {
    throw new ExportFormatError(
      `The file holds a value longer than ${MAX_VALUE_CHARS.toLocaleString("en-US")} characters (near character ${this.position}): no row of an export is that large.`,
    );
  }

  private fail(what: string): never {
    throw new ExportFormatError(
      `The file is not an export document: ${what} (near character ${this.position}).`,
    );
  }

  /** A character outside any value; answers whether it begins one to capture. */
  private structural(c: number): "value" | "key" | null {
    const ch = String.fromCharCode(c);
    switch (this.mode) {
      case Mode.RootStart:
        if (ch !== "{") this.fail("it does not start with {");
        this.mode = Mode.RootKeyOrEnd;
        return null;
      case Mode.RootKeyOrEnd:
        if (ch === "}") {
          this.mode = Mode.Done;
          return null;
        }
        if (c !== QUOTE) this.fail("a field name was expected");
        return "key";
      case Mode.RootKey:
      case Mode.TablesKey:
        if (c !== QUOTE) this.fail("a field name was expected");
        return "key";
      case Mode.RootColon:
      case Mode.TablesColon:
        if (ch !== ":") this.fail("a colon was expected");
        this.mode = this.mode === Mode.RootColon ? Mode.RootValue : Mode.TableStart;
        return null;
      case Mode.RootValue:
        if (this.key === "tables") {
          if (ch !== "{") this.fail('"tables" must be an object');
          this.mode = Mode.TablesKeyOrEnd;
          return null;
        }
        return "value";
      case Mode.RootNext:
        if (ch === ",") this.mode = Mode.RootKey;
        else if (ch === "}") this.mode = Mode.Done;
        else this.fail("a comma or } was expected");
        return null;
      case Mode.TablesKeyOrEnd:
        if (ch === "}") {
          this.mode = Mode.RootNext;
          return null;
        }
        if (c !== QUOTE) this.fail("a table name was expected");
        return "key";
      case Mode.TableStart:
        if (ch !== "[") this.fail(`table "${this.table}" must be an array`);
        this.mode = Mode.TableValueOrEnd;
        return null;
      case Mode.TableValueOrEnd:
        if (ch === "]") {
          this.mode = Mode.TablesNext;
          return null;
        }
        return "value";
      case Mode.TableValue:
        return "value";
      case Mode.TableNext:
        if (ch === ",") this.mode = Mode.TableValue;
        else if (ch === "]") this.mode = Mode.TablesNext;
        else this.fail("a comma or ] was expected");
        return null;
      case Mode.TablesNext:
        if (ch === ",") this.mode = Mode.TablesKey;
        else if (ch === "}") this.mode = Mode.RootNext;
        else this.fail("a comma or } was expected");
        return null;
      default:
        return this.fail("there is more after the end of the document");
    }
  }

  /** One character of a captured value: whether it ended the value, and where. */
  private step(c: number): "after" | "before" | null {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) {
        this.inString = false;
        if (this.depth === 0 && !this.primitive) return "after";
      }
      return null;
    }
    if (this.primitive) {
      if (isSpace(c) || c === 0x2c || c === 0x7d || c === 0x5d) return "before";
      return null;
    }
    if (c === QUOTE) {
      this.inString = true;
      return null;
    }
    if (c === 0x7b || c === 0x5b) {
      this.depth += 1;
      return null;
    }
    if (c === 0x7d || c === 0x5d) {
      this.depth -= 1;
      return this.depth === 0 ? "after" : null;
    }
    if (this.depth === 0 && !isSpace(c)) this.primitive = true;
    return null;
  }

  private finish(text: string, out: ScannedItem[]): void {
    if (text.length > MAX_VALUE_CHARS) this.tooLarge();
    const kind = this.capturing;
    this.capturing = null;
    this.pending = "";
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.fail(`${kind === "key" ? "a name" : "a value"} is not valid JSON`);
    }
    if (kind === "key") {
      const name = String(value);
      if (this.mode === Mode.TablesKey || this.mode === Mode.TablesKeyOrEnd) {
        this.table = name;
        this.mode = Mode.TablesColon;
        out.push({ kind: "table", name });
      } else {
        this.key = name;
        this.mode = Mode.RootColon;
      }
      return;
    }
    if (this.mode === Mode.RootValue) {
      out.push({ kind: "field", name: this.key, value });
      this.mode = Mode.RootNext;
    } else {
      out.push({ kind: "row", table: this.table, value });
      this.mode = Mode.TableNext;
    }
  }
}

/** The scanner over a byte stream. */
export async function* scanExport(
  stream: ReadableStream<Uint8Array>,
  scanner = new ExportScanner(),
): AsyncGenerator<ScannedItem> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const reader = stream.getReader();
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let text: string;
      try {
        text = decoder.decode(value, { stream: true });
      } catch {
        throw new ExportFormatError("The file is not UTF-8 text.");
      }
      yield* scanner.push(text);
    }
    ended = true;
    yield* scanner.push(decoder.decode());
    yield* scanner.end();
  } finally {
    // Stopped early (a preview that read enough, a delivery out of time, a bad row): the body is
    // cancelled, not left open (an R2 stream of up to 1 GiB) until it is collected.
    if (!ended) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** What a checked document yields: its header, each row (checked against its table), its live state, its summary. */
export type ExportItem =
  | { kind: "header"; header: ExportHeader }
  | { kind: "row"; table: string; row: Record<string, unknown> }
  | { kind: "live"; live: LiveSection }
  | { kind: "summary"; summary: ExportSummary };

const HEADER_FIELDS: readonly string[] = ["format", "version", "export_id", "exported_at", "account"];

export type ExportHeader = z.infer<typeof ExportHeaderSchema>;

/**
 * Takes one of the header's fields into `header` (answers true), checking the format's name and the
 * version as soon as they are read so a wrong file stops at its first bytes; any other item answers false.
 */
export function takeHeaderField(
  item: ScannedItem,
  header: Record<string, unknown>,
  headerDone: boolean,
): boolean {
  if (item.kind !== "field" || !HEADER_FIELDS.includes(item.name)) return false;
  if (headerDone) throw new ExportFormatError(`"${item.name}" must come before the tables.`, item.name);
  header[item.name] = item.value;
  if (item.name === "format" && item.value !== EXPORT_FORMAT)
    throw new ExportFormatError(`This is not a ${EXPORT_FORMAT} file.`, "format");
  if (item.name === "version" && typeof item.value === "number" && item.value > EXPORT_VERSION)
    throw new ExportFormatError(
      `The file is version ${item.value}; this server reads up to version ${EXPORT_VERSION}.`,
      "version",
    );
  return true;
}

/** The header ends at the first table, the live state or the summary. */
export const endsHeader = (item: ScannedItem): boolean =>
  item.kind !== "field" || item.name === "live" || item.name === "summary";

/** The header as read, checked whole: its fields, and the account against the users table's shape. */
export function checkedHeader(header: Record<string, unknown>): ExportHeader {
  const parsed = ExportHeaderSchema.safeParse(header);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ExportFormatError(
      `The header is not valid${issue?.path.length ? ` at ${issue.path.join(".")}` : ""}: ${issue?.message}.`,
      issue?.path.join("."),
    );
  }
  const account = rowSchema("users")?.safeParse(parsed.data.account);
  if (account && !account.success)
    throw new ExportFormatError(`The account is not valid: ${account.error.issues[0]?.message}.`, "account");
  return parsed.data;
}

/**
 * Reads and checks an export: the format's name and a version this server reads (a newer one is
 * refused), the header before any table, each row against its table's shape (unknown tables refused),
 * the live state, and that the summary's counts match the rows read — so a file cut or altered
 * anywhere fails before its end is taken for the truth. A caller that writes as it reads must write
 * nothing for good until the last item (the summary) arrives.
 */
export async function* readExport(stream: ReadableStream<Uint8Array>): AsyncGenerator<ExportItem> {
  const header: Record<string, unknown> = {};
  let headerDone = false;
  const counts = new Map<string, number>();
  const seenTables = new Set<string>();
  let live = false;
  for await (const item of scanExport(stream)) {
    if (takeHeaderField(item, header, headerDone)) continue;
    if (!headerDone && endsHeader(item)) {
      headerDone = true;
      yield { kind: "header", header: checkedHeader(header) };
    }
    if (item.kind === "table") {
      if (!exportedTable(item.name)) throw new ExportFormatError(`Unknown table "${item.name}".`, item.name);
      if (seenTables.has(item.name))
        throw new ExportFormatError(`Table "${item.name}" appears twice.`, item.name);
      seenTables.add(item.name);
      counts.set(item.name, 0);
      continue;
    }
    if (item.kind === "row") {
      const n = (counts.get(item.table) ?? 0) + 1;
      counts.set(item.table, n);
      const parsed = rowSchema(item.table)?.safeParse(item.value);
      if (!parsed?.success) {
        const issue = parsed?.error.issues[0];
        const where = issue?.path.length ? ` (${issue.path.join(".")})` : "";
        throw new ExportFormatError(
          `Row ${n} of table "${item.table}" is not valid${where}: ${issue?.message ?? "not an object"}.`,
          `${item.table}.${n}`,
        );
      }
      yield { kind: "row", table: item.table, row: parsed.data };
      continue;
    }
    if (item.name === "live") {
      const parsed = LiveSectionSchema.safeParse(item.value);
      if (!parsed.success) throw new ExportFormatError("The live state is not valid.", "live");
      live = true;
      yield { kind: "live", live: parsed.data };
    } else if (item.name === "summary") {
      const parsed = ExportSummarySchema.safeParse(item.value);
      if (!parsed.success) throw new ExportFormatError("The summary is not valid.", "summary");
      for (const [table, n] of Object.entries(parsed.data.counts)) {
        if ((counts.get(table) ?? 0) !== n)
          throw new ExportFormatError(
            `Table "${table}" has ${counts.get(table) ?? 0} rows but the summary says ${n}: the file was altered or cut.`,
            table,
          );
      }
      for (const [table, n] of counts) {
        if (parsed.data.counts[table] !== n)
          throw new ExportFormatError(`Table "${table}" is not in the summary's counts.`, table);
      }
      if (!live) throw new ExportFormatError("The live state is missing.", "live");
      yield { kind: "summary", summary: parsed.data };
      return;
    }
  }
  throw new ExportFormatError("The summary is missing: the file was cut short.", "summary");
}
