import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type JsonPath, JsonStreamError, JsonStreamReader } from "../src/lib/json-stream";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Rebuilds the document from what the reader hands over, to compare it with the original. */
function rebuild(chunks: string[], wantWhole: (path: JsonPath) => boolean) {
  let root: Json | undefined;
  const whole: JsonPath[] = [];
  const set = (path: JsonPath, value: Json) => {
    if (path.length === 0) {
      root = value;
      return;
    }
    let node = root as Json;
    for (const key of path.slice(0, -1)) node = (node as Record<string | number, Json>)[key] as Json;
    // An own property even for "__proto__", as JSON.parse makes it (an assignment would set the prototype).
    Object.defineProperty(node, path.at(-1) as string | number, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  };
  const exits: [string, number][] = [];
  const reader = new JsonStreamReader({
    wantWhole,
    value: (path, value) => {
      if (typeof value === "object" && value !== null) whole.push(path);
      set(path, value as Json);
    },
    enter: (path, kind) => set(path, kind === "object" ? {} : []),
    exit: (path, kind, count) => exits.push([`${kind}:${path.join(".")}`, count]),
  });
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return { root, whole, exits };
}

/** Cuts `text` at the given fractions (any place: inside strings, escapes, numbers). */
function cut(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((f) => Math.floor(f * text.length)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let from = 0;
  for (const to of at) {
    parts.push(text.slice(from, to));
    from = to;
  }
  parts.push(text.slice(from));
  return parts;
}

function errorOf(text: string, chunks = 1, wholeFrom = 3): JsonStreamError {
  const reader = new JsonStreamReader({ wantWhole: (p) => p.length >= wholeFrom, value: () => {} }, 200);
  try {
    const size = Math.ceil(text.length / chunks);
    for (let i = 0; i < text.length; i += size) reader.push(text.slice(i, i + size));
    reader.end();
  } catch (error) {
    if (error instanceof JsonStreamError) return error;
    throw error;
  }
  throw new Error(`no error for ${text}`);
}

describe("JsonStreamReader", () => {
  it("reads any document, cut anywhere and formatted any way, as JSON.parse does", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 5 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        fc.constantFrom(0, 1, 2, "\t"),
        fc.integer({ min: 0, max: 4 }),
        (value, cuts, indent, depth) => {
          const text = ` ${JSON.stringify(value, null, indent)}\n`;
          const { root } = rebuild(cut(text, cuts), (path) => path.length >= depth);
          expect(root).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("hands over rows of an export one at a time, with the tables' sizes", () => {
    const doc = {
      format: "proxy-agent-platform.export",
      version: 1,
      tables: { tasks: [{ id: "t1", title: 'say "hi" \\ {not a brace}' }, { id: "t2" }], steps: [] },
      live: { pet: { name: "Mo" } },
    };
    const { whole, exits, root } = rebuild(
      cut(JSON.stringify(doc), [0.1, 0.37, 0.5, 0.51, 0.9]),
      (path) => (path[0] === "tables" && path.length === 3) || (path[0] === "live" && path.length === 2),
    );
    expect(whole).toEqual([
      ["tables", "tasks", 0],
      ["tables", "tasks", 1],
      ["live", "pet"],
    ]);
    expect(exits).toEqual([
      ["array:tables.tasks", 2],
      ["array:tables.steps", 0],
      ["object:tables", 2],
      ["object:live", 1],
      ["object:", 4],
    ]);
    expect(root).toEqual(doc);
  });

  it("says where a broken document breaks", () => {
    const broken = errorOf('{"tables": {\n  "tasks": [{"id": "a"},\n  {"id": "b"} {"id": "c"}]}}', 7);
    expect(broken.line).toBe(3);
    expect([broken.column, broken.message]).toEqual([15, "expected ',' or ']' (line 3, column 15)"]);
    // The same fault inside a value handed over whole: JSON.parse's offset placed in the document.
    const inside = errorOf('{"tables": {\n  "tasks": [{"id": "a"},\n  {"id": "b"} {"id": "c"}]}}', 3, 2);
    expect([inside.line, inside.column]).toEqual([3, 15]);
    expect(errorOf('{"a": 1,}').message).toMatch(/expected a key/);
    expect(errorOf("[1, 2,]").message).toMatch(/unexpected character '\]'/);
    expect(errorOf('{"a" 1}').message).toMatch(/expected ':'/);
    expect(errorOf('{"a": tru}').message).toMatch(/not valid JSON/);
    expect(errorOf('{"tables": {"tasks": [{"id": "a"}, {"id": "b"').message).toMatch(/ends before/);
    expect(errorOf('{"a": 1} {"b": 2}').message).toMatch(/after the end/);
    expect(errorOf("").message).toMatch(/ends before/);
    expect(errorOf(`{"t": {"x": ["${"y".repeat(300)}"]}}`, 1, 2).message).toMatch(/larger than 200/);
  });

  it('hands over a "__proto__" key as the key it is', () => {
    expect(rebuild(['{"__proto__": {"polluted": true}}'], () => false).root).toEqual(
      JSON.parse('{"__proto__": {"polluted": true}}'),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads scalars at the root and at the end of a chunk", () => {
    expect(rebuild(["12", "34"], () => false).root).toBe(1234);
    expect(rebuild(["[tr", "ue,nu", "ll]"], () => false).root).toEqual([true, null]);
  });
});
