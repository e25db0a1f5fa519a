import { describe, expect, it } from "vitest";
import { ExportScanner, type ScannedItem, scanExport, utf8Length } from "../src/features/export/reader";

const encoder = new TextEncoder();

function streamOf(bytes: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

async function scan(bytes: Uint8Array, piece: number, scanner?: ExportScanner) {
  const items: ScannedItem[] = [];
  for await (const item of scanExport(streamOf(bytes, piece), scanner)) items.push(item);
  return items;
}

// Multi-byte text (accents, emoji) and whitespace of every kind: byte offsets are not character offsets.
const doc = `{"format":"x","version":1,
 "tables":{ "tasks":[ {"id":"a","title":"Été 🎉"} ,
{"id":"b","title":"naïve \\"q\\""}],"micro_steps":[{"id":"s1"},{"id":"s2","n":2}],
  "empty":[] },
"live":{"pet":null},"summary":{"rows":4}}`;

describe("resuming an export at a row boundary", () => {
  it("counts UTF-8 bytes as the encoder does", () => {
    for (const text of ["abc", "Été", "🎉x", "naïve 🎉🎉 ok", ""])
      expect(utf8Length(text, 0, text.length)).toBe(encoder.encode(text).length);
  });

  it("gives every row the byte just after it, however the bytes are cut", async () => {
    const bytes = encoder.encode(doc);
    for (const piece of [1, 2, 3, 7, 64, 4096]) {
      const rows = (await scan(bytes, piece)).filter((i) => i.kind === "row");
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        const before = new TextDecoder().decode(bytes.slice(0, row.end));
        expect(before.trimEnd().endsWith("}")).toBe(true);
        expect(JSON.parse(before.slice(before.lastIndexOf("{")))).toEqual(row.value);
      }
    }
  });

  it("reads from any row's end exactly what a reader from the start reads after it", async () => {
    const bytes = encoder.encode(doc);
    const all = await scan(bytes, 5);
    let resumed = 0;
    for (const [i, item] of all.entries()) {
      if (item.kind !== "row" || item.end === undefined) continue;
      const rest = await scan(bytes.slice(item.end), 3, ExportScanner.resumingInTable(item.table, item.end));
      expect(rest).toEqual(all.slice(i + 1));
      resumed += 1;
    }
    expect(resumed).toBe(4);
  });

  it("refuses what cannot follow a row", async () => {
    const scanner = ExportScanner.resumingInTable("tasks", 0);
    await expect(scan(encoder.encode(' x{"id":"c"}]}}'), 4, scanner)).rejects.toThrow(/comma or \]/);
  });
});
