import { SourceRefusal } from "./types";

/** One CSV record: its fields, its number (the first record is row 1, as a spreadsheet shows it) and first line. */
export interface CsvRecord {
  fields: string[];
  row: number;
  line: number;
  /** False for a last record the file cuts off without a line break. */
  terminated: boolean;
}

export type Delimiter = "," | ";" | "\t";
const DELIMITERS: Delimiter[] = [",", ";", "\t"];

/** The delimiter the first line uses most (outside quotes): "," unless ";" or a tab clearly wins. */
export function guessDelimiter(firstLine: string): Delimiter {
  const counts: Record<Delimiter, number> = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  for (const c of firstLine) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && isDelimiter(c)) counts[c] += 1;
  }
  let best: Delimiter = ",";
  for (const d of DELIMITERS) if (counts[d] > counts[best]) best = d;
  return best;
}

const isDelimiter = (c: string): c is Delimiter => (DELIMITERS as readonly string[]).includes(c);

/**
 * Pieces of text, with the first ones held back until the first line is known (to guess the delimiter).
 * The held text is scanned once, piece by piece, where the last scan stopped (quotes included): a first
 * line of megabytes arriving in small pieces costs its length, not its square.
 */
async function* withFirstLine(
  text: AsyncIterable<string>,
  onFirstLine: (line: string) => void,
): AsyncGenerator<string> {
  const held: string[] = [];
  let quoted = false;
  let known = false;
  for await (const piece of text) {
    if (known) {
      yield piece;
      continue;
    }
    held.push(piece);
    for (let i = 0; i < piece.length; i++) {
      const c = piece[i];
      if (c === '"') quoted = !quoted;
      else if (!quoted && (c === "\n" || c === "\r")) {
        known = true;
        const all = held.join("");
        onFirstLine(all.slice(0, all.length - piece.length + i));
        yield all;
        break;
      }
    }
  }
  if (!known) {
    const all = held.join("");
    onFirstLine(all);
    if (all) yield all;
  }
}

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

/**
 * RFC 4180 records from text as it streams in: quoted fields with doubled quotes, delimiters and line
 * breaks inside them, CRLF or LF. Lenient where spreadsheets are (text after a closing quote is kept),
 * strict where it matters: a quoted field still open at the end means a truncated or broken file.
 */
export async function* readCsv(
  text: AsyncIterable<string>,
  options: { delimiter: Delimiter | "auto" },
): AsyncGenerator<CsvRecord> {
  let delimiter: Delimiter = options.delimiter === "auto" ? "," : options.delimiter;
  const pieces =
    options.delimiter === "auto"
      ? withFirstLine(text, (line) => {
          delimiter = guessDelimiter(line);
        })
      : text;

  let state = State.FieldStart;
  let fields: string[] = [];
  let field = "";
  let row = 1;
  let line = 1;
  let recordLine = 1;
  let skipLf = false;
  let started = false;

  const endRecord = (terminated: boolean): CsvRecord => {
    fields.push(field);
    const record = { fields, row, line: recordLine, terminated };
    fields = [];
    field = "";
    row += 1;
    state = State.FieldStart;
    started = false;
    return record;
  };

  for await (const piece of pieces) {
    let i = 0;
    const n = piece.length;
    while (i < n) {
      if (skipLf) {
        skipLf = false;
        if (piece[i] === "\n") {
          i += 1;
          continue;
        }
      }
      const c = piece[i] as string;
      if (!started) {
        started = true;
        recordLine = line;
      }
      switch (state) {
        case State.FieldStart:
        case State.Unquoted: {
          if (state === State.FieldStart && c === '"') {
            state = State.Quoted;
            i += 1;
            break;
          }
          // The run of ordinary characters up to the next delimiter or line break, in one slice.
          let j = i;
          while (j < n) {
            const d = piece[j];
            if (d === delimiter || d === "\n" || d === "\r") break;
            j += 1;
          }
          field += piece.slice(i, j);
          state = State.Unquoted;
          i = j;
          if (i >= n) break;
          const d = piece[i];
          i += 1;
          if (d === delimiter) {
            fields.push(field);
            field = "";
            state = State.FieldStart;
          } else {
            if (d === "\r") skipLf = true;
            line += 1;
            yield endRecord(true);
          }
          break;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) {
            const d = piece[j];
            if (d === '"' || d === "\r" || d === "\n") break;
            j += 1;
          }
          field += piece.slice(i, j);
          i = j;
          if (i >= n) break;
          const d = piece[i];
          i += 1;
          if (d === '"') state = State.QuoteInQuoted;
          else {
            // A line break inside a field: kept as "\n" whatever the file used.
            if (d === "\r") skipLf = true;
            field += "\n";
            line += 1;
          }
          break;
        }
        case State.QuoteInQuoted: {
          i += 1;
          if (c === '"') {
            field += '"';
            state = State.Quoted;
          } else if (c === delimiter) {
            fields.push(field);
            field = "";
            state = State.FieldStart;
          } else if (c === "\n" || c === "\r") {
            if (c === "\r") skipLf = true;
            line += 1;
            yield endRecord(true);
          } else {
            // `"a"b`: not RFC 4180, but what a spreadsheet means is the text as written.
            field += c;
            state = State.Unquoted;
          }
          break;
        }
      }
    }
  }
  if (state === State.Quoted) {
    throw new SourceRefusal(
      `Row ${row} (from line ${recordLine}) opens a quoted field that never closes: the file looks truncated, or a quote is missing.`,
      { row, line: recordLine },
    );
  }
  if (started) yield endRecord(false);
}

/** True for a record with nothing in it (an empty line, or only delimiters). */
export const isBlank = (record: CsvRecord) => record.fields.every((f) => f.trim() === "");
