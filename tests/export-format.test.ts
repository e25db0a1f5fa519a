import { env } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluatePreconditions, requestedRange } from "../src/features/export/conditional";
import { csvField, csvHeader, csvLine, tagsCell } from "../src/features/export/csv";
import {
  ACCOUNT_OMIT,
  EXCLUDED_TABLES,
  EXPORT_FORMAT,
  EXPORTED_TABLES,
  INTERNAL_TABLE,
  LIVE_VERSION,
  OMITTED_COLUMNS,
  rowSchema,
  SHARED_TABLES,
} from "../src/features/export/format";
import { rowSerializer } from "../src/features/export/json-document";
import { derivedId, parseFocusSnapshot, parsePetSnapshot } from "../src/features/export/live";
import { pageSql } from "../src/features/export/pages";
import { decodeCarry, encodeCarry, PartWriter } from "../src/features/export/part-writer";
import {
  ExportFormatError,
  ExportScanner,
  MAX_VALUE_CHARS,
  readExport,
  scanExport,
} from "../src/features/export/reader";
import { signDownload, verifyDownload } from "../src/features/export/signing";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A writer over small parts that keeps every part it was handed, and the carry at each. */
function collectingWriter(partSize: number, bytes = 0) {
  const parts: Uint8Array[] = [];
  const carries: Uint8Array[] = [];
  const writer = new PartWriter(
    partSize,
    async (part, carry) => {
      parts.push(part.slice());
      carries.push(carry.slice());
    },
    bytes,
  );
  return { writer, parts, carries };
}

const concat = (chunks: Uint8Array[]) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

describe("the part writer", () => {
  it("cuts text into parts of exactly the part size, mid-character if it must, and keeps the rest", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 60 }),
        fc.integer({ min: 5, max: 64 }),
        async (pieces, partSize) => {
          const { writer, parts } = collectingWriter(partSize);
          for (const piece of pieces) await writer.write(piece);
          const all = encoder.encode(pieces.join(""));
          expect(parts.every((p) => p.length === partSize)).toBe(true);
          expect(writer.pending().length).toBeLessThan(partSize);
          expect(concat([...parts, writer.pending()])).toEqual(all);
          expect(writer.bytes).toBe(all.length);
        },
      ),
    );
  });

  it("resumes from a part and its carry to the very same bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "grapheme", maxLength: 30 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 4, max: 40 }),
        async (pieces, partSize) => {
          const whole = collectingWriter(partSize);
          for (const piece of pieces) await whole.writer.write(piece);
          // Stop after the first part, as a slice does, and go on from what a cursor would hold.
          const first = collectingWriter(partSize);
          let written = 0;
          for (const piece of pieces) {
            await first.writer.write(piece);
            written += 1;
            if (first.parts.length > 0) break;
          }
          if (first.parts.length === 0) return;
          const carry = decodeCarry(encodeCarry(first.carries[0] ?? new Uint8Array()));
          const bytesAtCut = partSize + carry.length;
          const resumed = collectingWriter(partSize, bytesAtCut);
          await resumed.writer.resume(carry);
          for (const piece of pieces.slice(written)) await resumed.writer.write(piece);
          expect(concat([first.parts[0] as Uint8Array, ...resumed.parts, resumed.writer.pending()])).toEqual(
            concat([...whole.parts, whole.writer.pending()]),
          );
          expect(resumed.writer.bytes).toBe(whole.writer.bytes);
        },
      ),
    );
  });

  it("cuts a carry longer than a part into parts when resuming", async () => {
    const { writer, parts } = collectingWriter(4);
    await writer.resume(encoder.encode("abcdefghij"));
    expect(parts.map((p) => decoder.decode(p))).toEqual(["abcd", "efgh"]);
    expect(decoder.decode(writer.pending())).toBe("ij");
  });
});

describe("CSV text", () => {
  it("quotes what RFC 4180 says to, and defuses formulas in free text only", () => {
    expect(csvField('say "hi", then\nleave', "title")).toBe('"say ""hi"", then\nleave"');
    expect(csvField('=HYPERLINK("http://evil")', "title")).toBe('"\'=HYPERLINK(""http://evil"")"');
    expect(csvField("+1 call", "description")).toBe("'+1 call");
    expect(csvField("@home", "tags")).toBe("'@home");
    expect(csvField(-5, "estimated_minutes")).toBe("-5");
    expect(csvField(null, "title")).toBe("");
    expect(csvField("plain 🙂", "title")).toBe("plain 🙂");
    expect(tagsCell('["home","health"]')).toBe("home, health");
    expect(tagsCell("not json")).toBe("");
    expect(csvHeader().startsWith("\uFEFFtype,task_id,step_id,")).toBe(true);
    expect(csvLine({ type: "task", title: "a" }).endsWith("\r\n")).toBe(true);
  });
});

describe("JSON rows", () => {
  it("keys rows by column name and leaves credential columns out", () => {
    const serialize = rowSerializer(["id", "secret", "n", "missing"], ["secret"]);
    expect(JSON.parse(serialize(["w1", "s3cr3t", 4.5, undefined]))).toEqual({
      id: "w1",
      n: 4.5,
      missing: null,
    });
  });
});

/** A small document, the way the job writes it (one row per line). */
function sampleDocument(): string {
  const account = {
    id: "u1",
    email: "a@example.com",
    display_name: "A",
    timezone: "UTC",
    created_at: "x",
    updated_at: "x",
  };
  const task = {
    id: "t1",
    user_id: "u1",
    title: 'Quote " and brace } and bracket ] 🙂',
    description: null,
    status: "pending",
    priority: "high",
    estimated_minutes: 5,
    actual_minutes: null,
    due_at: null,
    tags: '["a"]',
    delegation_mode: "DO",
    assigned_to: null,
    agent_type: null,
    is_meta_task: 0,
    task_source: "user",
    category: null,
    category_source: null,
    parent_task_id: null,
    completed_at: null,
    created_at: "x",
    updated_at: "x",
    deleted_at: null,
  };
  const live = {
    focus: {
      version: 1,
      settings: {
        pomodoro_work_minutes: 25,
        short_break_minutes: 5,
        long_break_minutes: 15,
        long_break_every: 4,
        deep_work_minutes: 50,
        short_burst_minutes: 15,
        flowtime_break_percent: 20,
      },
      timer: null,
    },
    pet: { version: 1, pet: null },
  };
  return (
    `{"format":"${EXPORT_FORMAT}","version":1,"export_id":"e1","exported_at":"x",\n"account":${JSON.stringify(account)},\n"tables":{` +
    `\n"tasks":[\n${JSON.stringify(task)},\n${JSON.stringify({ ...task, id: "t2", title: "two" })}\n],\n"micro_steps":[\n]\n},` +
    `\n"live":${JSON.stringify(live)},\n"summary":${JSON.stringify({ rows: 2, counts: { tasks: 2, micro_steps: 0 }, tables: ["tasks", "micro_steps"], excluded: {} })}}\n`
  );
}

const streamOf = (text: string, chunk = 7) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = encoder.encode(text);
      for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.slice(i, i + chunk));
      controller.close();
    },
  });

async function itemsOf(text: string, chunk = 7) {
  const items = [];
  for await (const item of readExport(streamOf(text, chunk))) items.push(item);
  return items;
}

describe("reading a document back", () => {
  it("finds the same values whatever the whitespace and wherever the chunks are cut", async () => {
    const text = sampleDocument();
    const pretty = JSON.stringify(JSON.parse(text), null, 2);
    const minified = JSON.stringify(JSON.parse(text));
    const expected = await itemsOf(text, 1 << 20);
    expect(expected.map((i) => i.kind)).toEqual(["header", "row", "row", "live", "summary"]);
    for (const variant of [pretty, minified]) expect(await itemsOf(variant, 3)).toEqual(expected);
    for (let chunk = 1; chunk < 40; chunk += 1) expect(await itemsOf(text, chunk)).toEqual(expected);
  });

  it("scans any JSON values' boundaries the same as JSON.parse reads them", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 50 }),
        (values, chunk) => {
          const doc = JSON.stringify({ format: "f", tables: { t: values }, other: values[0] ?? null });
          const scanner = new ExportScanner();
          const found = [];
          for (let i = 0; i < doc.length; i += chunk) found.push(...scanner.push(doc.slice(i, i + chunk)));
          found.push(...scanner.end());
          const rows = found.filter((f) => f.kind === "row").map((f) => (f.kind === "row" ? f.value : null));
          expect(rows).toEqual(JSON.parse(JSON.stringify(values)));
        },
      ),
    );
  });

  it("refuses a file cut short, altered, of another format or of a newer version, saying why", async () => {
    const text = sampleDocument();
    const refusal = async (doc: string) => {
      try {
        await itemsOf(doc, 64);
      } catch (error) {
        expect(error).toBeInstanceOf(ExportFormatError);
        return (error as Error).message;
      }
      throw new Error("the document was accepted");
    };
    expect(await refusal(text.slice(0, text.indexOf('"live"')))).toMatch(/cut short/);
    expect(await refusal(text.slice(0, 200))).toMatch(/cut short/);
    expect(await refusal(text.replace(`"id":"t2"`, `"id":"t2","hacked":1`))).toMatch(
      /Row 2 of table "tasks"/,
    );
    expect(await refusal(text.replace('"priority":"high"', '"priority":"urgent"'))).toMatch(/tasks/);
    expect(await refusal(text.replace('"counts":{"tasks":2', '"counts":{"tasks":3'))).toMatch(
      /summary says 3/,
    );
    expect(await refusal(text.replace(`,\n${text.split("\n")[5]}`, ""))).toMatch(/summary says 2/);
    expect(await refusal(text.replace(EXPORT_FORMAT, "something.else"))).toMatch(/not a proxy-agent/);
    expect(await refusal(text.replace('"version":1', '"version":2'))).toMatch(/version 2/);
    expect(await refusal(text.replace('"micro_steps"', '"secrets"'))).toMatch(/Unknown table "secrets"/);
    expect(await refusal(text.replace('"tables":{', '"tables":{ oops'))).toMatch(/not an export document/);
    expect(await refusal(`${text}{}`)).toMatch(/more after the end/);
    expect(
      await refusal(text.replace('"live":{"focus":{"version":1', '"live":{"focus":{"version":"one"')),
    ).toMatch(/live state/);
  });

  it("refuses a value longer than any row D1 can hold, in one chunk or many, before holding it all", async () => {
    const text = sampleDocument();
    const huge = "x".repeat(MAX_VALUE_CHARS + 10);
    const withHugeRow = text.replace('"title":"', `"title":"${huge}`);
    const endless = `{"format":"${EXPORT_FORMAT}","version":1,"export_id":"${huge}`;
    for (const [doc, chunk] of [
      [withHugeRow, 64 * 1024],
      [withHugeRow, 1 << 24],
      [endless, 64 * 1024],
    ] as const) {
      const read = itemsOf(doc, chunk);
      await expect(read).rejects.toBeInstanceOf(ExportFormatError);
      await expect(read).rejects.toThrow(/longer than 4,000,000 characters/);
    }
    // Just under the limit is a value like any other (the row is then refused for what it is).
    const scanner = new ExportScanner();
    const big = JSON.stringify({ tables: { t: ["y".repeat(MAX_VALUE_CHARS - 10)] } });
    const rows = [];
    for (let i = 0; i < big.length; i += 65_536) rows.push(...scanner.push(big.slice(i, i + 65_536)));
    expect(rows.filter((r) => r.kind === "row")).toHaveLength(1);
  });

  it("refuses bytes that are not UTF-8", async () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe]);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    });
    await expect(async () => {
      for await (const _ of scanExport(stream)) void _;
    }).rejects.toThrow(/not UTF-8/);
  });
});

describe("the live snapshots' contract", () => {
  it("refuses a newer version and says what is wrong with a broken one", () => {
    const newer = parseFocusSnapshot({
      version: LIVE_VERSION + 1,
      settings: {
        pomodoro_work_minutes: 25,
        short_break_minutes: 5,
        long_break_minutes: 15,
        long_break_every: 4,
        deep_work_minutes: 50,
        short_burst_minutes: 15,
        flowtime_break_percent: 20,
      },
      timer: null,
    });
    expect(newer).toMatchObject({ ok: false, error: { status: 422, code: "snapshot_too_new" } });
    const broken = parsePetSnapshot({ version: 1, pet: { pet_id: "p" } });
    expect(broken).toMatchObject({ ok: false, error: { status: 422, code: "invalid_snapshot" } });
    if (!broken.ok) expect(broken.error.detail).toMatch(/pet\./);
  });

  it("derives the same UUIDv7 for the same account and old id, keeping the old id's time", async () => {
    const old = "0193a5b2-7c1d-7abc-8def-0123456789ab";
    const a = await derivedId("user-a", old);
    expect(a).toBe(await derivedId("user-a", old));
    expect(a).not.toBe(await derivedId("user-b", old));
    expect(a).toMatch(/^0193a5b2-7c1d-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await derivedId("user-a", "not-a-uuid")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
});

describe("download signatures", () => {
  it("verify only for the same id, expiry and secret", async () => {
    const secret = "a-secret-long-enough-for-hmac";
    const signature = await signDownload(secret, "e1", 1000);
    expect(await verifyDownload(secret, "e1", 1000, signature)).toBe(true);
    expect(await verifyDownload(secret, "e2", 1000, signature)).toBe(false);
    expect(await verifyDownload(secret, "e1", 1001, signature)).toBe(false);
    expect(await verifyDownload(`${secret}!`, "e1", 1000, signature)).toBe(false);
    expect(await verifyDownload(secret, "e1", 1000, `${signature.slice(0, -2)}AA`)).toBe(false);
    expect(await verifyDownload(secret, "e1", 1000, "%%%")).toBe(false);
    expect(await verifyDownload(secret, "e1", 1000, "")).toBe(false);
  });
});

interface ColumnInfo {
  name: string;
}

async function tableColumns(table: string): Promise<string[]> {
  const { results } = await env.DB.prepare(`PRAGMA table_info("${table}")`).all<ColumnInfo>();
  return results.map((r) => r.name);
}

describe("which tables an export holds", () => {
  it("classifies every table of the database: exported, or left out with a reason", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    ).all<{ name: string }>();
    const tables = results.map((r) => r.name).filter((name) => !INTERNAL_TABLE.test(name));
    const exported = new Set(["users", ...EXPORTED_TABLES.map((t) => t.name)]);
    const unclassified = tables.filter(
      (name) =>
        !exported.has(name) && EXCLUDED_TABLES[name] === undefined && SHARED_TABLES[name] === undefined,
    );
    // A new table must be exported (format.ts EXPORTED_TABLES) or excluded with its reason.
    expect(unclassified).toEqual([]);
    for (const name of tables) {
      const classes = [exported.has(name), name in EXCLUDED_TABLES, name in SHARED_TABLES].filter(Boolean);
      expect(classes, name).toHaveLength(1);
    }
    // No stale names: everything the format names exists.
    for (const name of [...exported, ...Object.keys(EXCLUDED_TABLES), ...Object.keys(SHARED_TABLES)]) {
      expect(tables, name).toContain(name);
    }
    // A table with a user_id column holds user rows: it cannot pass for shared.
    for (const name of Object.keys(SHARED_TABLES)) {
      expect(await tableColumns(name), name).not.toContain("user_id");
    }
    for (const reason of [...Object.values(EXCLUDED_TABLES), ...Object.values(SHARED_TABLES)]) {
      expect(reason.length).toBeGreaterThan(20);
    }
  });

  it("pages every exported table by a key its index serves, and leaves no credential column in", async () => {
    const credential = /password|secret|token|p256dh|^auth$|^endpoint$/;
    for (const spec of EXPORTED_TABLES) {
      const columns = await tableColumns(spec.name);
      for (const key of spec.key) expect(columns, `${spec.name}.${key}`).toContain(key);
      const kept = columns.filter((c) => !(spec.omit ?? []).includes(c));
      expect(
        kept.filter((c) => credential.test(c) && !c.endsWith("_at")),
        spec.name,
      ).toEqual([]);
      for (const omitted of spec.omit ?? []) expect(OMITTED_COLUMNS[`${spec.name}.${omitted}`]).toBeDefined();
      expect(Object.keys((rowSchema(spec.name) as unknown as z.ZodObject).shape).sort(), spec.name).toEqual(
        kept.sort(),
      );
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${pageSql(spec, true, 100)}`)
        .bind("u", ...spec.key.map(() => "k"))
        .all<{ detail: string }>();
      const steps = plan.results.map((r) => r.detail);
      // Every page is a range of one index (no scan of the table, no sort of all the user's rows).
      expect(
        steps.filter((s) => s.startsWith("SCAN")),
        `${spec.name}: ${steps.join(" | ")}`,
      ).toEqual([]);
      // Nor any sort at all: not of the whole ORDER BY, nor of its right part (per template, per task).
      expect(
        steps.filter((s) => /TEMP B-TREE/.test(s)),
        `${spec.name}: ${steps.join(" | ")}`,
      ).toEqual([]);
    }
    const accountColumns = (await tableColumns("users")).filter((c) => !ACCOUNT_OMIT.includes(c));
    expect(accountColumns.filter((c) => credential.test(c))).toEqual([]);
  });
});

describe("download conditions", () => {
  const file = { etag: '"abc"', lastModified: new Date(Date.now() - 60_000), size: 100 };
  const h = (init: Record<string, string>) => new Headers(init);
  const httpDate = (ms: number) => new Date(ms).toUTCString();

  it("reads one byte range and ignores what it cannot serve", () => {
    expect(requestedRange(h({}), file)).toEqual({ kind: "full" });
    expect(requestedRange(h({ range: "bytes=5-9" }), file)).toEqual({
      kind: "partial",
      offset: 5,
      length: 5,
    });
    expect(requestedRange(h({ range: "bytes = 95 - " }), file)).toEqual({
      kind: "partial",
      offset: 95,
      length: 5,
    });
    expect(requestedRange(h({ range: "bytes=-500" }), file)).toEqual({
      kind: "partial",
      offset: 0,
      length: 100,
    });
    expect(requestedRange(h({ range: "bytes=9-5" }), file)).toEqual({ kind: "full" });
    expect(requestedRange(h({ range: "bytes=-" }), file)).toEqual({ kind: "full" });
    expect(requestedRange(h({ range: "bytes=-0" }), file)).toEqual({ kind: "unsatisfiable" });
    expect(requestedRange(h({ range: "bytes=0-0" }), { ...file, size: 0 })).toEqual({
      kind: "unsatisfiable",
    });
    expect(requestedRange(h({ range: "bytes=-3" }), { ...file, size: 0 })).toEqual({ kind: "unsatisfiable" });
    // If-Range by date: only the file's own time (to the second) lets the range apply.
    const own = httpDate(file.lastModified.getTime());
    expect(requestedRange(h({ range: "bytes=0-1", "if-range": own }), file).kind).toBe("partial");
    const older = httpDate(file.lastModified.getTime() - 5_000);
    expect(requestedRange(h({ range: "bytes=0-1", "if-range": older }), file).kind).toBe("full");
    expect(requestedRange(h({ range: "bytes=0-1", "if-range": "soon" }), file).kind).toBe("full");
    expect(requestedRange(h({ range: "bytes=0-1", "if-range": 'W/"abc"' }), file).kind).toBe("full");
  });

  it("ignores dates that are not dates, and lets If-Match stand in for If-Unmodified-Since", () => {
    expect(evaluatePreconditions(h({ "if-unmodified-since": "yesterday" }), file)).toBe("proceed");
    expect(evaluatePreconditions(h({ "if-modified-since": "yesterday" }), file)).toBe("proceed");
    const long = httpDate(file.lastModified.getTime() - 3_600_000);
    expect(evaluatePreconditions(h({ "if-match": '"abc"', "if-unmodified-since": long }), file)).toBe(
      "proceed",
    );
    expect(evaluatePreconditions(h({ "if-none-match": "*" }), file)).toBe("not_modified");
  });
});
