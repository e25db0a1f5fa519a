/**
 * Reads one JSON document pushed in chunks of any size, and hands over the values the caller asks for
 * whole, one at a time, without ever holding the document: a 300 MB account export is read with the
 * memory of its largest row.
 *
 * The structure around the wanted values (objects, arrays) is walked character by character; a wanted
 * value's text is only delimited here (strings, escapes and nesting tracked) and then given to the
 * runtime's own JSON.parse, which is far faster than parsing it in JavaScript. Whitespace and key order
 * do not matter: a pretty-printed or minified document reads the same.
 */

export type JsonPath = readonly (string | number)[];

export interface JsonStreamHandlers {
  /** Whether the value that starts at `path` is wanted whole. Scalars are always handed over. */
  wantWhole(path: JsonPath): boolean;
  /** A wanted value (or a scalar of the walked structure), parsed. */
  value(path: JsonPath, value: unknown): void;
  /** The walk enters an object or array that is not wanted whole. */
  enter?(path: JsonPath, kind: "object" | "array"): void;
  /** The walk leaves it; `count` is how many members or elements it had. */
  exit?(path: JsonPath, kind: "object" | "array", count: number): void;
}

/** The document is not JSON, or one of its values is larger than allowed. */
export class JsonStreamError extends Error {
  constructor(
    message: string,
    /** 1-based line and column of the character at fault (or of the end of the document). */
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = "JsonStreamError";
  }
}

interface Frame {
  kind: "object" | "array";
  path: (string | number)[];
  count: number;
  /** object: "key" (a key or `}` next), "colon", "value", "comma" (`,` or `}` next); array likewise. */
  expect: "key" | "colon" | "value" | "comma" | "first";
  key: string;
}

const WHITESPACE = new Set([0x20, 0x0a, 0x0d, 0x09]);

export class JsonStreamReader {
  private readonly stack: Frame[] = [];
  private rootDone = false;
  private line = 1;
  private column = 0;

  /** The text of the value (or key) being delimited, across chunks. */
  private capture = "";
  private capturing: "none" | "value" | "key" = "none";
  private capturePath: JsonPath = [];
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** A scalar (number, true, false, null) ends at the first delimiter, which is not part of it. */
  private scalar = false;
  /** Where the captured text starts, to place an error inside it. */
  private captureLine = 1;
  private captureColumn = 1;

  constructor(
    private readonly handlers: JsonStreamHandlers,
    /** The largest value handed over, in characters: a guard against a document without structure. */
    private readonly maxValueChars = 4 * 1024 * 1024,
  ) {}

  push(chunk: string): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.capturing !== "none") {
        i = this.delimit(chunk, i);
        continue;
      }
      const c = chunk.charCodeAt(i);
      this.advance(c);
      i++;
      if (WHITESPACE.has(c)) continue;
      this.structural(c);
    }
  }

  /** The document ended: it must have been exactly one complete value. */
  end(): void {
    if (this.capturing === "value" && this.scalar) this.finishCapture();
    if (this.capturing !== "none" || this.stack.length > 0 || !this.rootDone) {
      throw this.fail("the document ends before it is complete");
    }
  }

  private advance(c: number): void {
    if (c === 0x0a) {
      this.line++;
      this.column = 0;
    } else {
      this.column++;
    }
  }

  private fail(message: string): JsonStreamError {
    return new JsonStreamError(message, this.line, Math.max(this.column, 1));
  }

  private structural(c: number): void {
    const top = this.stack.at(-1);
    if (!top) {
      if (this.rootDone) throw this.fail("unexpected text after the end of the document");
      this.startValue(c, []);
      return;
    }
    switch (top.expect) {
      case "first":
        if ((top.kind === "object" && c === 0x7d) || (top.kind === "array" && c === 0x5d)) {
          this.close(top);
          return;
        }
        if (top.kind === "object") {
          this.startKey(c);
        } else {
          top.expect = "comma";
          this.startValue(c, [...top.path, top.count]);
        }
        return;
      case "key":
        this.startKey(c);
        return;
      case "colon":
        if (c !== 0x3a) throw this.fail("expected ':' after a key");
        top.expect = "value";
        return;
      case "value":
        top.expect = "comma";
        this.startValue(c, [...top.path, top.kind === "object" ? top.key : top.count]);
        return;
      case "comma":
        if (c === 0x2c) {
          top.expect = top.kind === "object" ? "key" : "value";
          return;
        }
        if ((top.kind === "object" && c === 0x7d) || (top.kind === "array" && c === 0x5d)) {
          this.close(top);
          return;
        }
        throw this.fail(top.kind === "object" ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  private startKey(c: number): void {
    if (c !== 0x22) throw this.fail("expected a key in double quotes");
    this.beginCapture("key", [], '"');
    this.inString = true;
  }

  private startValue(c: number, path: JsonPath): void {
    if (c === 0x7b || c === 0x5b) {
      const kind = c === 0x7b ? "object" : "array";
      if (this.handlers.wantWhole(path)) {
        this.beginCapture("value", path, String.fromCharCode(c));
        this.depth = 1;
        return;
      }
      this.countElement();
      this.stack.push({ kind, path: [...path], count: 0, expect: "first", key: "" });
      this.handlers.enter?.(path, kind);
      return;
    }
    if (c === 0x22) {
      this.beginCapture("value", path, '"');
      this.inString = true;
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) {
      this.beginCapture("value", path, String.fromCharCode(c));
      this.scalar = true;
      return;
    }
    throw this.fail(`unexpected character '${String.fromCharCode(c)}'`);
  }

  private countElement(): void {
    const top = this.stack.at(-1);
    if (top) top.count++;
    else this.rootDone = true;
  }

  private close(top: Frame): void {
    this.stack.pop();
    this.handlers.exit?.(top.path, top.kind, top.count);
  }

  /** Places JSON.parse's complaint (V8 gives an offset into the text) at its line and column. */
  private failInside(text: string, error: unknown, message: string): JsonStreamError {
    const offset = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
    let line = this.captureLine;
    let column = this.captureColumn;
    for (let i = 0; i < Math.min(offset, text.length); i++) {
      // Moving from text[i] to text[i + 1].
      if (text.charCodeAt(i) === 0x0a) {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return new JsonStreamError(message, line, column);
  }

  private beginCapture(kind: "value" | "key", path: JsonPath, first: string): void {
    this.capturing = kind;
    this.capturePath = path;
    this.captureLine = this.line;
    this.captureColumn = Math.max(this.column, 1);
    this.capture = first;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.scalar = false;
  }

  /** Delimits the captured text from `start`; returns where the structure resumes. */
  private delimit(chunk: string, start: number): number {
    let i = start;
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.scalar) {
        if (WHITESPACE.has(c) || c === 0x2c || c === 0x7d || c === 0x5d) {
          this.append(chunk, start, i);
          this.finishCapture();
          return i;
        }
        this.advance(c);
        continue;
      }
      this.advance(c);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 0) {
            this.append(chunk, start, i + 1);
            this.finishCapture();
            return i + 1;
          }
        }
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          this.append(chunk, start, i + 1);
          this.finishCapture();
          return i + 1;
        }
      }
    }
    this.append(chunk, start, i);
    return i;
  }

  private append(chunk: string, from: number, to: number): void {
    if (to > from) this.capture += chunk.slice(from, to);
    if (this.capture.length > this.maxValueChars) {
      throw this.fail(`a value is larger than ${this.maxValueChars} characters`);
    }
  }

  private finishCapture(): void {
    const text = this.capture;
    const kind = this.capturing;
    this.capture = "";
    this.capturing = "none";
    this.scalar = false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.failInside(
        text,
        error,
        kind === "key" ? "a key is not a valid JSON string" : "a value is not valid JSON",
      );
    }
    if (kind === "key") {
      const top = this.stack.at(-1);
      if (top) {
        top.key = parsed as string;
        top.expect = "colon";
      }
      return;
    }
    this.countElement();
    this.handlers.value(this.capturePath, parsed);
  }
}
