import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { continueOrphanSweep, sweepExports, sweepOrphanExports } from "../src/features/export/cleanup";
import { ACCOUNT_OMIT, EXPORTED_TABLES, type LiveSection } from "../src/features/export/format";
import { EXPORT_TTL_MS, LEASE_MS } from "../src/features/export/job";
import { type ExportMessage, sliceMessage } from "../src/features/export/messages";
import { pageSql } from "../src/features/export/pages";
import { type ExportItem, readExport } from "../src/features/export/reader";
import worker, { CRONS } from "../src/index";
import { EXPORTS_MAX_RETRIES } from "../src/jobs/exports-consumer";
import { cleanUpExpired } from "../src/jobs/housekeeping";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock } from "./helpers/clock";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import {
  capturingExportsQueue,
  download,
  drainExport,
  type ExportDto,
  exportAccount,
  exportOf,
  parseCsv,
  runExportsQueue,
  startExport,
} from "./helpers/export";
import { focusStateOf, startFocus } from "./helpers/focus";
import { capturingLearningQueue } from "./helpers/learning";
import { notify } from "./helpers/notifications";
import { settle } from "./helpers/outbox";
import { adoptPet, careFor, giveTreats, petOf } from "./helpers/pets";
import { completeStep, createTask, type Task } from "./helpers/tasks";
import { createTemplate } from "./helpers/templates";

const MINUTE = 60_000;

/** Every row the user has in each exported table, as stored and in the file's order. */
async function storedTables(userId: string): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const spec of EXPORTED_TABLES) {
    const [columns = [], ...rows] = await env.DB.prepare(pageSql(spec, false, 1_000_000))
      .bind(userId)
      .raw<unknown[]>({ columnNames: true });
    const names = columns as string[];
    out[spec.name] = rows.map((row) =>
      Object.fromEntries(
        names
          .map((name, i) => [name, row[i] ?? null])
          .filter(([name]) => !(spec.omit ?? []).includes(name as string)),
      ),
    );
  }
  return out;
}

interface ReadDocument {
  header: Extract<ExportItem, { kind: "header" }>["header"];
  tables: Record<string, Record<string, unknown>[]>;
  live: LiveSection;
  counts: Record<string, number>;
}

async function readDocument(body: ReadableStream<Uint8Array>): Promise<ReadDocument> {
  const doc: Partial<ReadDocument> & { tables: ReadDocument["tables"] } = { tables: {} };
  for await (const item of readExport(body)) {
    if (item.kind === "header") doc.header = item.header;
    else if (item.kind === "row") {
      const rows = doc.tables[item.table] ?? [];
      rows.push(item.row);
      doc.tables[item.table] = rows;
    } else if (item.kind === "live") doc.live = item.live;
    else doc.counts = item.summary.counts;
  }
  if (!doc.header || !doc.live || !doc.counts) throw new Error("incomplete document");
  return doc as ReadDocument;
}

async function downloadDocument(done: ExportDto): Promise<ReadDocument> {
  const res = await download(done.download_url ?? "");
  expect(res.status).toBe(200);
  return readDocument(res.body as ReadableStream<Uint8Array>);
}

/** The tables as the file holds them, with every exported table present (empty ones too). */
const withEveryTable = (tables: ReadDocument["tables"]) =>
  Object.fromEntries(EXPORTED_TABLES.map((t) => [t.name, tables[t.name] ?? []]));

/**
 * Waits until nothing more is on its way to the user's rows: every event delivered (handlers write
 * XP, rollups, notifications through the queues in the background) and the notifications quiet.
 */
async function quiesce(user: TestUser): Promise<void> {
  let last = "";
  for (let round = 0; round < 40; round++) {
    await settle(user.id);
    const row = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM notifications WHERE user_id = ?1) AS n,
              (SELECT count(*) FROM events WHERE user_id = ?1 AND delivered_at IS NULL) AS e,
              (SELECT count(*) FROM xp_ledger WHERE user_id = ?1) AS x,
              (SELECT coalesce(max(updated_at), '') FROM analytics_rollups WHERE user_id = ?1) AS r`,
    )
      .bind(user.id)
      .first<{ n: number; e: number; x: number; r: string }>();
    const now = JSON.stringify(row);
    if (now === last && row?.e === 0) return;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * Writes `count` tasks of about 3.4 KB each (ids before any UUIDv7 of today, as older rows' are) (accents, emoji, quotes: multi-byte text cut across
 * parts) and three steps each straight into D1: megabytes of account in a second.
 */
async function seedBulk(userId: string, count: number, prefix = "bulk"): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     INSERT INTO tasks (id, user_id, title, description, status, priority, tags, created_at, updated_at)
     SELECT printf('00000000-%s-t%06d', ?3, i), ?1, printf('Bulk task %d ✓', i), replace(hex(zeroblob(300)), '00', 'é🙂,"x" '),
       CASE i % 3 WHEN 0 THEN 'completed' ELSE 'pending' END, 'medium', '["bulk"]', ?4, ?4 FROM n`,
  )
    .bind(userId, count, prefix, now)
    .run();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2), k(j) AS (VALUES (1), (2), (3))
     INSERT INTO micro_steps (id, task_id, user_id, position, description, estimated_minutes, created_at, updated_at)
     SELECT printf('00000000-%s-s%06d-%d', ?3, i, j), printf('00000000-%s-t%06d', ?3, i), ?1, j, printf('Step %d of task %d', j, i), 3, ?4, ?4
     FROM n, k`,
  )
    .bind(userId, count, prefix, now)
    .run();
}

describe("starting an export", () => {
  it("answers 202 with the queued job and sends its first slice", async () => {
    const user = await createUser();
    const { sent, queue } = capturingExportsQueue();
    const res = await callWith({ EXPORTS_QUEUE: queue }, "/api/v1/export", {
      token: user.token,
      body: { format: "JSON" },
    });
    expect(res.status).toBe(202);
    const body = await res.json<ExportDto>();
    expect(body).toMatchObject({
      format: "json",
      status: "queued",
      progress: { rows_written: 0, rows_total: null, percent: 0 },
      bytes: 0,
      started_at: null,
      completed_at: null,
    });
    expect(body.download_url).toBeUndefined();
    expect(res.headers.get("location")).toBe(`/api/v1/export/${body.export_id}`);
    expect(sent).toEqual([sliceMessage(body.export_id, 0)]);
    expect(await exportOf(user, body.export_id)).toEqual(body);
    const row = await env.DB.prepare("SELECT r2_key FROM exports WHERE id = ?").bind(body.export_id).first();
    expect(row).toEqual({ r2_key: `exports/${user.id}/${body.export_id}.json` });
  });

  it("answers the export in progress to a second request of the same format, and 409 to another format", async () => {
    const user = await createUser();
    const first = await startExport(user, "csv");
    const again = await startExport(user, "csv");
    expect(again.dto.export_id).toBe(first.dto.export_id);
    expect(again.sent).toEqual([]);
    const other = await call("/api/v1/export", { token: user.token, body: { format: "json" } });
    expect(other.status).toBe(409);
    const problem = await problemOf(other);
    expect(problem.code).toBe("export_in_progress");
    expect(problem.detail).toContain(first.dto.export_id);
  });

  it("replays the first answer to a retry with the same Idempotency-Key", async () => {
    const user = await createUser();
    const key = { "idempotency-key": `export-${crypto.randomUUID()}` };
    const first = await startExport(user, "json", key);
    const res = await call("/api/v1/export", { token: user.token, body: { format: "json" }, headers: key });
    expect(res.status).toBe(202);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect((await res.json<ExportDto>()).export_id).toBe(first.dto.export_id);
    const reused = await call("/api/v1/export", { token: user.token, body: { format: "csv" }, headers: key });
    expect(reused.status).toBe(422);
    expect((await problemOf(reused)).code).toBe("idempotency_key_reused");
  });

  it("refuses an unknown format, a token without the export scopes, and someone else's export", async () => {
    const user = await createUser();
    const bad = await call("/api/v1/export", { token: user.token, body: { format: "xml" } });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.[0]?.field).toBe("format");
    const reader = await createApiToken(user.token, { name: "tasks only", scopes: ["tasks:read"] });
    const refused = await call("/api/v1/export", { token: reader.token, body: { format: "json" } });
    expect(refused.status).toBe(403);
    const { dto } = await startExport(user, "json");
    const readOnly = await createApiToken(user.token, { name: "status", scopes: ["export:read"] });
    expect((await exportOf({ ...user, token: readOnly.token }, dto.export_id)).export_id).toBe(dto.export_id);
    const stranger = await createUser();
    const res = await call(`/api/v1/export/${dto.export_id}`, { token: stranger.token });
    expect(res.status).toBe(404);
    expect(await callJson<ExportDto[]>("/api/v1/export", 200, { token: stranger.token })).toEqual([]);
  });

  it("lists the caller's exports newest first, a page at a time", async () => {
    const user = await createUser();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await exportAccount(user, i % 2 ? "csv" : "json")).export_id);
    const res = await call("/api/v1/export?limit=2", { token: user.token });
    const page = await res.json<ExportDto[]>();
    expect(page.map((e) => e.export_id)).toEqual([ids[2], ids[1]]);
    const next = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? "";
    const rest = await callJson<ExportDto[]>(next, 200, { token: user.token });
    expect(rest.map((e) => e.export_id)).toEqual([ids[0]]);
  });

  it("reads an export's status in one D1 round trip (beside the account lookup)", async () => {
    const user = await createUser();
    const { dto } = await startExport(user, "json");
    expect(await tripsFor(`/api/v1/export/${dto.export_id}`, { token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });
});

describe("the JSON export", () => {
  let user: TestUser;
  let other: TestUser;
  let tasks: Task[];
  let done: ExportDto;
  let doc: ReadDocument;
  let webhookSecret: string;
  let tokenSecret: string;

  beforeAll(async () => {
    user = await createUser({ timezone: "Pacific/Kiritimati" });
    other = await createUser();
    await createTask(other, { title: "Another person's secret task" });
    const first = await createTask(user, {
      title: 'Plan the "big" party, then rest 🎉',
      priority: "high",
      tags: ["home", "fun"],
      micro_steps: [{ description: "Book the venue" }, { description: "Invite, everyone\nall of them" }],
    });
    const second = await createTask(user, { title: "Clean up after", depends_on: [first.task_id] });
    await completeStep(user, first.task_id, first.micro_steps?.[0]?.step_id ?? "");
    tasks = [first, second];
    await createTemplate(user, { name: "Morning", category: "Health", steps: [{ description: "Stretch" }] });
    webhookSecret = (
      await callJson<{ secret: string }>("/api/v1/webhooks", 201, {
        token: user.token,
        body: { url: "https://hooks.example.com/in", event_types: ["task.completed"] },
      })
    ).secret;
    tokenSecret = (await createApiToken(user.token, { name: "script", scopes: ["tasks:read"] })).token;
    await callJson("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: user.token,
      body: { pomodoro_work_minutes: 40, long_break_every: 3 },
    });
    await adoptPet(user, { species: "owl", name: "Hoot" });
    await giveTreats(user, 30);
    await careFor(user, "feed", { xp_amount: 20 });
    await notify(user, { title: "Well done", body: "You did a thing" });
    await startFocus(user, { kind: "pomodoro", task_id: second.task_id });
    await quiesce(user);
    done = await exportAccount(user, "json");
    doc = await downloadDocument(done);
  });

  it("completes with its progress at 100% and a signed link valid for 7 days", () => {
    expect(done.status).toBe("completed");
    expect(done.progress.percent).toBe(100);
    expect(done.progress.rows_written).toBe(done.progress.rows_total);
    const completed = Date.parse(done.completed_at ?? "");
    expect(Date.parse(done.expires_at ?? "") - completed).toBe(EXPORT_TTL_MS);
    const link = new URL(done.download_url ?? "");
    expect(link.pathname).toBe(`/api/v1/export/${done.export_id}/download`);
    expect(Number(link.searchParams.get("expires"))).toBe(
      Math.floor(Date.parse(done.expires_at ?? "") / 1000),
    );
    expect(link.searchParams.get("signature")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("serves the file as a download: length, type, a dated name, an ETag that answers 304", async () => {
    const res = await download(done.download_url ?? "");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(Number(res.headers.get("content-length"))).toBe(bytes.length);
    expect(bytes.length).toBe(done.bytes);
    // The date is the user's own (UTC+14 here), as they will look for it among their downloads.
    const localDate = new Date(Date.parse(done.started_at ?? "") + 14 * 3_600_000).toISOString().slice(0, 10);
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="proxy-agent-export-${localDate}.json"`,
    );
    const etag = res.headers.get("etag") ?? "";
    expect(etag).toMatch(/^".+"$/);
    const again = await download(done.download_url ?? "", { "if-none-match": etag });
    expect(again.status).toBe(304);
    // Valid JSON as a whole, too.
    expect(JSON.parse(new TextDecoder().decode(bytes)).format).toBe("proxy-agent-platform.export");
  });

  it("holds every row of every table of the user's, as stored, and nobody else's", async () => {
    expect(withEveryTable(doc.tables)).toEqual(await storedTables(user.id));
    expect(doc.counts).toEqual(
      Object.fromEntries(EXPORTED_TABLES.map((t) => [t.name, doc.tables[t.name]?.length ?? 0])),
    );
    expect(doc.tables.xp_ledger?.length).toBeGreaterThan(0);
    expect(doc.tables.notifications?.map((n) => n.title)).toContain("Well done");
    const text = JSON.stringify(doc);
    expect(text).not.toContain("Another person's secret task");
    expect(text).not.toContain(other.id);
  });

  it("matches what the API shows of the account", async () => {
    const listed = await callJson<Task[]>("/api/v1/tasks?include=micro_steps", 200, { token: user.token });
    const fileTasks = doc.tables.tasks ?? [];
    for (const task of listed) {
      const row = fileTasks.find((t) => t.id === task.task_id);
      expect(row).toMatchObject({ title: task.title, status: task.status, priority: task.priority });
      expect(JSON.parse(String(row?.tags))).toEqual(task.tags);
      const steps = (doc.tables.micro_steps ?? []).filter((s) => s.task_id === task.task_id);
      expect(steps.map((s) => s.description)).toEqual((task.micro_steps ?? []).map((s) => s.description));
    }
    expect(fileTasks.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.task_id).sort());
    expect(doc.tables.task_dependencies).toMatchObject([
      { task_id: tasks[1]?.task_id, depends_on_id: tasks[0]?.task_id },
    ]);
    const account = await callJson<Record<string, unknown>>("/api/v1/auth/me", 200, { token: user.token });
    expect(doc.header.account).toMatchObject({
      id: user.id,
      email: user.email,
      timezone: "Pacific/Kiritimati",
    });
    expect(doc.header.account.display_name).toBe(account.display_name);
    expect(doc.header).toMatchObject({
      format: "proxy-agent-platform.export",
      version: 1,
      export_id: done.export_id,
    });
  });

  it("carries the live state: focus settings and the running session, the pet with its care and growth", async () => {
    const settings = await callJson("/api/v1/focus/enhanced/settings", 200, { token: user.token });
    expect(doc.live.focus.settings).toEqual(settings);
    const state = await focusStateOf(user);
    expect(doc.live.focus.timer?.work?.session_id).toBe(state.session?.session_id);
    expect(doc.live.focus.timer?.work?.task_id).toBe(tasks[1]?.task_id);
    const pet = await petOf(user);
    expect(doc.live.pet.pet).toMatchObject({
      pet_id: pet.pet_id,
      name: "Hoot",
      species: "owl",
      level: pet.level,
      total_xp: pet.total_xp,
      treats: pet.treats,
      personality: pet.personality,
    });
    expect(doc.tables.user_pets?.[0]).toMatchObject({ id: pet.pet_id, total_xp: pet.total_xp });
  });

  it("holds no credential: no password hash, token hashes, webhook secrets or push keys", async () => {
    const res = await download(done.download_url ?? "");
    const text = await res.text();
    const stored = await env.DB.prepare(
      `SELECT u.password_hash AS p, (SELECT group_concat(token_hash) FROM refresh_tokens WHERE user_id = u.id) AS r,
              (SELECT group_concat(token_hash) FROM api_tokens WHERE user_id = u.id) AS a
       FROM users u WHERE u.id = ?`,
    )
      .bind(user.id)
      .first<{ p: string; r: string; a: string }>();
    for (const secret of [
      stored?.p,
      ...(stored?.r ?? "").split(","),
      ...(stored?.a ?? "").split(","),
      webhookSecret,
      tokenSecret,
    ]) {
      expect(secret?.length).toBeGreaterThan(10);
      expect(text).not.toContain(secret);
    }
    for (const column of [...ACCOUNT_OMIT, "secret", "previous_secret", "token_hash"]) {
      expect(text).not.toContain(`"${column}":`);
    }
  });
});

describe("the CSV export", () => {
  it("lists each task then its steps, quoted for spreadsheets, deleted tasks left out", async () => {
    const user = await createUser();
    const first = await createTask(user, {
      title: '=HYPERLINK("http://evil.example") "quoted", with comma',
      description: "line one\nline two",
      tags: ["a", "b"],
      estimated_minutes: 30,
      micro_steps: [{ description: "First, 🙂" }, { description: "Second" }],
    });
    const second = await createTask(user, { title: "Ünïcödé task", depends_on: [first.task_id] });
    const gone = await createTask(user, { title: "Deleted one" });
    await callJson(`/api/v1/tasks/${gone.task_id}`, 204, { method: "DELETE", token: user.token });
    const done = await exportAccount(user, "csv");
    const res = await download(done.download_url ?? "");
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /filename="proxy-agent-export-\d{4}-\d{2}-\d{2}\.csv"/,
    );
    const bytes = new Uint8Array(await res.arrayBuffer());
    // A byte order mark first, for Excel (Response.text() would take it away).
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes);
    expect(text).toContain("\r\n");
    const [header, ...rows] = parseCsv(text);
    const col = (row: string[] | undefined, name: string) => row?.[header?.indexOf(name) ?? -1];
    expect(rows.map((r) => [col(r, "type"), col(r, "title")])).toEqual([
      ["task", `'${first.title}`],
      ["step", "First, 🙂"],
      ["step", "Second"],
      ["task", "Ünïcödé task"],
    ]);
    expect(col(rows[0], "description")).toBe("line one\nline two");
    expect(col(rows[0], "tags")).toBe("a, b");
    expect(col(rows[0], "estimated_minutes")).toBe("30");
    expect(col(rows[1], "task_id")).toBe(first.task_id);
    expect(col(rows[2], "step_number")).toBe("2");
    expect(col(rows[3], "depends_on")).toBe(first.task_id);
    expect(col(rows[3], "task_id")).toBe(second.task_id);
    expect(done.progress).toEqual({ rows_written: 4, rows_total: 4, percent: 100 });
  });
});

describe("a large account, slice by slice", () => {
  it("writes parts of exactly 5 MiB across slices, shows progress moving, and ends with every row", async () => {
    const user = await createUser();
    await seedBulk(user.id, 3000);
    const { dto, sent } = await startExport(user, "json");
    const seen: ExportDto[] = [];
    // A budget of nothing: each slice stops at its first part, as a long export's slices do at theirs.
    const slices = await drainExport(sent[0] ?? sliceMessage(dto.export_id, 0), { budgetMs: 0 }, async () => {
      seen.push(await exportOf(user, dto.export_id));
    });
    expect(slices).toBeGreaterThanOrEqual(3);
    const moving = seen.slice(0, -1);
    expect(moving.every((s) => s.status === "running" && s.progress.percent < 100)).toBe(true);
    const written = moving.map((s) => s.progress.rows_written);
    expect(written).toEqual([...written].sort((a, b) => a - b));
    expect(new Set(written).size).toBe(written.length);
    // After each slice, one more part of exactly 5 MiB is stored, and less than a part is carried.
    expect(moving.map((s) => Math.floor(s.bytes / (5 * 1024 * 1024)))).toEqual(moving.map((_, i) => i + 1));
    const done = seen.at(-1) as ExportDto;
    expect(done.status).toBe("completed");
    expect(done.progress.rows_written).toBe(12_000);
    const object = await env.FILES.head(`exports/${user.id}/${dto.export_id}.json`);
    expect(object?.size).toBe(done.bytes);
    expect(object?.etag).toMatch(new RegExp(`-${Math.ceil(done.bytes / (5 * 1024 * 1024))}$`));
    const doc = await downloadDocument(done);
    expect(withEveryTable(doc.tables)).toEqual(await storedTables(user.id));
  });

  it("writes the same account as CSV, each task with its three steps", async () => {
    const user = await createUser();
    await seedBulk(user.id, 2000, "csv");
    const done = await exportAccount(user, "csv", { budgetMs: 0 });
    expect(done.progress).toMatchObject({ rows_written: 8000, rows_total: 8000 });
    const rows = parseCsv(await (await download(done.download_url ?? "")).text());
    expect(rows).toHaveLength(8001);
    expect(rows[1]?.[0]).toBe("task");
    expect(rows.slice(2, 5).map((r) => r[0])).toEqual(["step", "step", "step"]);
    expect(rows[1]?.[5]).toContain('é🙂,"x"');
  });
});

/** The FILES bucket, with faults injected into its multipart uploads. */
function faultyFiles(faults: {
  /** Throws before storing the nth part uploaded (1-based, counted over the whole run). */
  failBefore?: number;
  /** Stores the nth part, then throws as if the answer were lost. */
  loseAnswerOf?: number;
  /** Completes, then throws as if the answer were lost (and R2 stays unreachable for the slice). */
  loseCompletion?: boolean;
  /** Runs before the nth part is stored (the seam where another request may act). */
  beforePart?: (n: number) => Promise<void>;
  /** Runs before a whole file is put. */
  beforePut?: () => Promise<void>;
  /** Receives the id of every multipart upload created. */
  created?: string[];
}) {
  let completed = false;
  let parts = 0;
  const wrap = (upload: R2MultipartUpload): R2MultipartUpload =>
    new Proxy(upload, {
      get(target, prop) {
        if (prop === "uploadPart") {
          return async (n: number, body: Uint8Array) => {
            parts += 1;
            await faults.beforePart?.(parts);
            if (parts === faults.failBefore) throw new Error("R2: network connection lost");
            const uploaded = await target.uploadPart(n, body);
            if (parts === faults.loseAnswerOf) throw new Error("R2: network connection lost");
            return uploaded;
          };
        }
        if (prop === "complete") {
          return async (list: R2UploadedPart[]) => {
            const object = await target.complete(list);
            completed = true;
            if (faults.loseCompletion) throw new Error("R2: network connection lost");
            return object;
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(env.FILES, {
    get(target, prop) {
      if (prop === "createMultipartUpload") {
        return async (key: string, options?: R2MultipartOptions) => {
          const upload = await target.createMultipartUpload(key, options);
          faults.created?.push(upload.uploadId);
          return wrap(upload);
        };
      }
      if (prop === "put") {
        return async (...args: Parameters<R2Bucket["put"]>) => {
          await faults.beforePut?.();
          return target.put(...args);
        };
      }
      if (prop === "resumeMultipartUpload") {
        return (key: string, id: string) => wrap(target.resumeMultipartUpload(key, id));
      }
      if (prop === "head" && completed && faults.loseCompletion) {
        return async () => {
          throw new Error("R2: network connection lost");
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("a slice that dies", () => {
  async function bulkUser(count = 1800) {
    const user = await createUser();
    await seedBulk(user.id, count, `c${crypto.randomUUID().slice(0, 6)}`);
    return user;
  }

  /** Runs one slice with broken R2, expecting it to be retried; answers the export then. */
  async function failingSlice(user: TestUser, exportId: string, files: R2Bucket, slice = 0) {
    const { result, sent } = await runExportsQueue([sliceMessage(exportId, slice)], {}, { FILES: files });
    expect(result.retryMessages).toHaveLength(1);
    expect(sent).toEqual([]);
    return exportOf(user, exportId);
  }

  it("resumes from the last stored part: nothing lost, nothing twice, even with rows changed meanwhile", async () => {
    const user = await bulkUser();
    const { dto } = await startExport(user, "json");
    const midway = await failingSlice(user, dto.export_id, faultyFiles({ failBefore: 2 }));
    expect(midway.status).toBe("running");
    expect(midway.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(midway.progress.rows_written).toBeGreaterThan(0);
    // The account moves on before the retry: a new task, and a task past the cursor renamed.
    const added = await createTask(user, { title: "Added while the export waited" });
    await env.DB.prepare(
      "UPDATE tasks SET title = 'Renamed late' WHERE id = (SELECT max(id) FROM tasks WHERE user_id = ? AND id LIKE '00000000-%')",
    )
      .bind(user.id)
      .run();
    await quiesce(user);
    const { result } = await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, {}, 2);
    expect(result.ackAll || result.explicitAcks.length === 1).toBe(true);
    const done = await exportOf(user, dto.export_id);
    expect(done.status).toBe("completed");
    const doc = await downloadDocument(done);
    const ids = (doc.tables.tasks ?? []).map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(added.task_id);
    expect((doc.tables.tasks ?? []).map((t) => t.title)).toContain("Renamed late");
    expect(withEveryTable(doc.tables)).toEqual(await storedTables(user.id));
  });

  it("stores a part again when its answer was lost, and completes with the part R2 holds", async () => {
    const user = await bulkUser();
    const { dto } = await startExport(user, "json");
    const before = await failingSlice(user, dto.export_id, faultyFiles({ loseAnswerOf: 1 }));
    expect(before.bytes).toBe(0);
    await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, {}, 2);
    const done = await exportOf(user, dto.export_id);
    expect(done.status).toBe("completed");
    expect(withEveryTable((await downloadDocument(done)).tables)).toEqual(await storedTables(user.id));
  });

  it("finds the file whole when completing was answered by a lost connection", async () => {
    const user = await bulkUser();
    const { dto } = await startExport(user, "json");
    const sealed = await failingSlice(user, dto.export_id, faultyFiles({ loseCompletion: true }));
    expect(sealed.status).toBe("running");
    await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, {}, 2);
    const done = await exportOf(user, dto.export_id);
    expect(done.status).toBe("completed");
    expect(done.bytes).toBe(sealed.bytes);
    expect(withEveryTable((await downloadDocument(done)).tables)).toEqual(await storedTables(user.id));
  });

  it("is marked failed after its last retry, its partial upload aborted", async () => {
    const user = await bulkUser();
    const { dto } = await startExport(user, "json");
    await failingSlice(user, dto.export_id, faultyFiles({ failBefore: 2 }));
    const row = await env.DB.prepare("SELECT upload_id, r2_key FROM exports WHERE id = ?")
      .bind(dto.export_id)
      .first<{ upload_id: string; r2_key: string }>();
    expect(row?.upload_id).toBeTruthy();
    const { result } = await runExportsQueue(
      [sliceMessage(dto.export_id, 0)],
      {},
      { FILES: faultyFiles({ failBefore: 1 }) },
      EXPORTS_MAX_RETRIES + 1,
    );
    expect(result.retryMessages).toHaveLength(1);
    const failed = await exportOf(user, dto.export_id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/^The export failed .*\.$/);
    expect(failed.download_url).toBeUndefined();
    const upload = env.FILES.resumeMultipartUpload(row?.r2_key ?? "", row?.upload_id ?? "");
    await expect(upload.uploadPart(9, new Uint8Array(10))).rejects.toThrow();
    // A new export may start now.
    expect((await startExport(user, "json")).dto.export_id).not.toBe(dto.export_id);
  });

  it("runs a slice once when two deliveries of it arrive together", async () => {
    const user = await bulkUser(600);
    const { dto } = await startExport(user, "json");
    const message = sliceMessage(dto.export_id, 0);
    const [a, b] = await Promise.all([runExportsQueue([message]), runExportsQueue([message])]);
    const retried = [a, b].filter((r) => r.result.retryMessages.length > 0);
    expect(retried.length).toBeLessThanOrEqual(1);
    if (retried.length === 1) await runExportsQueue([message], {}, {}, 2);
    const done = await exportOf(user, dto.export_id);
    expect(done.status).toBe("completed");
    expect(withEveryTable((await downloadDocument(done)).tables)).toEqual(await storedTables(user.id));
    // A copy arriving after the end changes nothing.
    const late = await runExportsQueue([message]);
    expect(late.result.explicitAcks).toHaveLength(1);
    expect(await exportOf(user, dto.export_id)).toEqual(done);
  });

  it("fails, saying why, when the account is gone before the job starts", async () => {
    const user = await createUser();
    const { dto } = await startExport(user, "json");
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
    const { result } = await runExportsQueue([sliceMessage(dto.export_id, 0)]);
    expect(result.explicitAcks).toHaveLength(1);
    const row = await env.DB.prepare("SELECT status, error FROM exports WHERE id = ?")
      .bind(dto.export_id)
      .first();
    expect(row).toEqual({ status: "failed", error: "The account no longer exists." });
  });

  it("drops a malformed message and waits with one that came before its slice's turn", async () => {
    const user = await createUser();
    const { dto } = await startExport(user, "json");
    const junk = await runExportsQueue([{ nonsense: true } as never]);
    expect(junk.result.explicitAcks).toHaveLength(1);
    const early = await runExportsQueue([sliceMessage(dto.export_id, 3)]);
    expect(early.result.retryMessages).toHaveLength(1);
    expect((await exportOf(user, dto.export_id)).status).toBe("queued");
  });

  /** What account deletion does to an export mid-way: its row and the files under its prefix go. */
  async function eraseExports(userId: string) {
    await env.DB.prepare("DELETE FROM exports WHERE user_id = ?").bind(userId).run();
    const listed = await env.FILES.list({ prefix: `exports/${userId}/` });
    if (listed.objects.length > 0) await env.FILES.delete(listed.objects.map((o) => o.key));
  }
  const filesOf = async (userId: string) =>
    (await env.FILES.list({ prefix: `exports/${userId}/` })).objects.map((o) => o.key);
  const aborted = async (key: string, uploadId: string) => {
    const upload = env.FILES.resumeMultipartUpload(key, uploadId);
    return upload.uploadPart(9, new Uint8Array(10)).then(
      () => false,
      () => true,
    );
  };

  it("deletes a whole file it put after the account was deleted", async () => {
    const user = await createUser();
    await createTask(user, { title: "Small account" });
    const { dto } = await startExport(user, "json");
    const files = faultyFiles({ beforePut: () => eraseExports(user.id) });
    const { result } = await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, { FILES: files });
    expect(result.explicitAcks).toHaveLength(1);
    expect(await filesOf(user.id)).toEqual([]);
  });

  it("aborts its upload when the account is deleted between two parts, leaving nothing", async () => {
    const user = await bulkUser();
    const { dto } = await startExport(user, "json");
    const created: string[] = [];
    const files = faultyFiles({
      created,
      beforePart: async (n) => {
        if (n === 2) await eraseExports(user.id);
      },
    });
    const { result } = await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, { FILES: files });
    expect(result.explicitAcks).toHaveLength(1);
    expect(await filesOf(user.id)).toEqual([]);
    expect(created).toHaveLength(1);
    expect(await aborted(`exports/${user.id}/${dto.export_id}.json`, created[0] ?? "")).toBe(true);
  });

  it("names its upload on the row before the first part, so failing before any part still aborts it", async () => {
    const user = await bulkUser();
    const { dto } = await startExport(user, "json");
    await failingSlice(user, dto.export_id, faultyFiles({ failBefore: 1 }));
    const row = await env.DB.prepare("SELECT upload_id, r2_key, cursor FROM exports WHERE id = ?")
      .bind(dto.export_id)
      .first<{ upload_id: string | null; r2_key: string; cursor: string | null }>();
    expect(row?.cursor).toBeNull();
    expect(row?.upload_id).toBeTruthy();
    await runExportsQueue(
      [sliceMessage(dto.export_id, 0)],
      {},
      { FILES: faultyFiles({ failBefore: 1 }) },
      EXPORTS_MAX_RETRIES + 1,
    );
    expect((await exportOf(user, dto.export_id)).status).toBe("failed");
    expect(await aborted(row?.r2_key ?? "", row?.upload_id ?? "")).toBe(true);
  });

  it("deletes the file of a job given up, even one already put whole", async () => {
    const user = await createUser();
    const { dto } = await startExport(user, "csv");
    const key = `exports/${user.id}/${dto.export_id}.csv`;
    // The file was put, and then the job's end was never recorded (D1 unreachable until the end).
    await env.FILES.put(key, "type,task_id\r\n");
    const { queue } = capturingExportsQueue();
    await sweepExports({ ...env, EXPORTS_QUEUE: queue }, Date.now() + 61 * MINUTE);
    expect((await exportOf(user, dto.export_id)).status).toBe("failed");
    expect(await env.FILES.head(key)).toBeNull();
  });

  it("writes nothing once its own lease has run out, and hands the job to the retry", async () => {
    const clock = freezeClock();
    const user = await createUser();
    await createTask(user, { title: "Slow slice" });
    const { dto } = await startExport(user, "json");
    // The slice stalls for longer than its lease just before writing the file (here: reading the account).
    const slow = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return (query: string) => {
            if (query.startsWith("SELECT * FROM users WHERE id")) clock.tick(LEASE_MS);
            return target.prepare(query);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const { result } = await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, { DB: slow });
    expect(result.retryMessages).toHaveLength(1);
    expect(await filesOf(user.id)).toEqual([]);
    const row = await env.DB.prepare("SELECT status, lease_id FROM exports WHERE id = ?")
      .bind(dto.export_id)
      .first();
    expect(row).toEqual({ status: "running", lease_id: null });
    await runExportsQueue([sliceMessage(dto.export_id, 0)], {}, {}, 2);
    expect((await exportOf(user, dto.export_id)).status).toBe("completed");
  });
});

describe("download links", () => {
  let user: TestUser;
  let done: ExportDto;

  beforeAll(async () => {
    user = await createUser();
    await createTask(user, { title: "Something to export" });
    done = await exportAccount(user, "json");
  });

  it("refuse a changed signature or expiry (403) and a link with parts missing (422)", async () => {
    const link = new URL(done.download_url ?? "");
    const signature = link.searchParams.get("signature") ?? "";
    const tampered = new URL(link);
    tampered.searchParams.set(
      "signature",
      `${signature.slice(0, -3)}${signature.endsWith("AAA") ? "BBB" : "AAA"}`,
    );
    const res = await download(tampered.toString());
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("invalid_signature");
    const later = new URL(link);
    later.searchParams.set("expires", String(Number(link.searchParams.get("expires")) + 86_400));
    expect((await download(later.toString())).status).toBe(403);
    const other = await exportAccount(await createUser(), "json");
    const borrowed = new URL(link);
    borrowed.pathname = new URL(other.download_url ?? "").pathname;
    expect((await download(borrowed.toString())).status).toBe(403);
    const bare = new URL(link);
    bare.searchParams.delete("signature");
    expect((await download(bare.toString())).status).toBe(422);
  });

  it("resume: one byte range answers 206 with its bytes, a range past the end 416", async () => {
    const whole = await download(done.download_url ?? "");
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    const bytes = new Uint8Array(await whole.arrayBuffer());
    const etag = whole.headers.get("etag") ?? "";
    const size = bytes.length;
    const part = async (range: string, extra: Record<string, string> = {}) => {
      const res = await download(done.download_url ?? "", { range, ...extra });
      return { res, body: new Uint8Array(await res.arrayBuffer()) };
    };
    const first = await part("bytes=0-9");
    expect(first.res.status).toBe(206);
    expect(first.res.headers.get("content-range")).toBe(`bytes 0-9/${size}`);
    expect(first.res.headers.get("content-length")).toBe("10");
    expect(first.res.headers.get("content-type")).toBe("application/json");
    expect(first.res.headers.get("etag")).toBe(etag);
    expect(first.res.headers.get("cache-control")).toContain("no-transform");
    expect(first.body).toEqual(bytes.slice(0, 10));
    const rest = await part("bytes=10-");
    expect(rest.res.headers.get("content-range")).toBe(`bytes 10-${size - 1}/${size}`);
    expect(new Uint8Array([...first.body, ...rest.body])).toEqual(bytes);
    expect((await part("bytes=-5")).body).toEqual(bytes.slice(size - 5));
    expect((await part(`bytes=${size - 3}-${size + 100}`)).body).toEqual(bytes.slice(size - 3));
    // If-Range: the same file resumes; another version sends the whole file again.
    expect((await part("bytes=0-9", { "if-range": etag })).res.status).toBe(206);
    const changed = await part("bytes=0-9", { "if-range": '"another-version"' });
    expect(changed.res.status).toBe(200);
    expect(changed.body).toEqual(bytes);
    // Several ranges, or nonsense: the whole file.
    expect((await part("bytes=0-1,5-6")).res.status).toBe(200);
    expect((await part("lines=1-2")).res.status).toBe(200);
    const past = await part(`bytes=${size}-`);
    expect(past.res.status).toBe(416);
    expect(past.res.headers.get("content-range")).toBe(`bytes */${size}`);
  });

  it("answer 412 to a failing If-Match or If-Unmodified-Since, and 304 only to what matches", async () => {
    const whole = await download(done.download_url ?? "");
    await whole.arrayBuffer();
    const etag = whole.headers.get("etag") ?? "";
    const modified = whole.headers.get("last-modified") ?? "";
    expect(Date.parse(modified)).not.toBeNaN();
    const statusWith = async (headers: Record<string, string>) => {
      const res = await download(done.download_url ?? "", headers);
      await res.arrayBuffer();
      return res.status;
    };
    expect(await statusWith({ "if-match": '"another-version"' })).toBe(412);
    expect(await statusWith({ "if-match": `W/${etag}` })).toBe(412);
    expect(await statusWith({ "if-match": etag })).toBe(200);
    expect(await statusWith({ "if-match": "*" })).toBe(200);
    const before = new Date(Date.parse(modified) - 3_600_000).toUTCString();
    expect(await statusWith({ "if-unmodified-since": before })).toBe(412);
    expect(await statusWith({ "if-unmodified-since": modified })).toBe(200);
    // A compressed answer's ETag comes back weak: If-None-Match compares weakly.
    expect(await statusWith({ "if-none-match": `W/${etag}` })).toBe(304);
    expect(await statusWith({ "if-none-match": `"x", ${etag}` })).toBe(304);
    expect(await statusWith({ "if-none-match": '"another-version"' })).toBe(200);
    expect(await statusWith({ "if-modified-since": modified })).toBe(304);
    expect(await statusWith({ "if-modified-since": before })).toBe(200);
    // If-None-Match wins over If-Modified-Since; If-Match is checked first of all.
    expect(await statusWith({ "if-none-match": '"x"', "if-modified-since": modified })).toBe(200);
    expect(await statusWith({ "if-match": '"x"', "if-none-match": etag })).toBe(412);
  });

  it("answer 410 when the file is gone though the export is not yet marked expired", async () => {
    const other = await createUser();
    const gone = await exportAccount(other, "csv");
    await env.FILES.delete(`exports/${other.id}/${gone.export_id}.csv`);
    const res = await download(gone.download_url ?? "");
    expect(res.status).toBe(410);
    expect((await problemOf(res)).code).toBe("export_expired");
  });

  it("stop working when the export expires; the cron deletes the file and marks it expired", async () => {
    const key = `exports/${user.id}/${done.export_id}.json`;
    expect(await env.FILES.head(key)).not.toBeNull();
    const clock = freezeClock(Date.parse(done.expires_at ?? "") + MINUTE);
    const res = await download(done.download_url ?? "");
    expect(res.status).toBe(410);
    expect((await problemOf(res)).detail).toMatch(/expired/);
    const { queue } = capturingExportsQueue();
    await cleanUpExpired({ ...env, EXPORTS_QUEUE: queue }, clock.now());
    expect(await env.FILES.head(key)).toBeNull();
    const row = await env.DB.prepare("SELECT status FROM exports WHERE id = ?").bind(done.export_id).first();
    expect(row).toEqual({ status: "expired" });
    // Sweeping again finds nothing more to do.
    expect((await sweepExports({ ...env, EXPORTS_QUEUE: queue }, clock.now())).expired).toBe(0);
  });
});

describe("jobs that stop moving", () => {
  it("get their slice sent again by the cron, and are failed after an hour without progress", async () => {
    const user = await createUser();
    const { dto, sent } = await startExport(user, "json");
    expect(sent).toHaveLength(1);
    const { sent: resent, queue } = capturingExportsQueue();
    const now = Date.now();
    expect(await sweepExports({ ...env, EXPORTS_QUEUE: queue }, now)).toMatchObject({ resumed: 0 });
    const later = await sweepExports({ ...env, EXPORTS_QUEUE: queue }, now + 6 * MINUTE);
    expect(later.resumed).toBeGreaterThanOrEqual(1);
    expect(resent).toContainEqual(sliceMessage(dto.export_id, 0));
    await sweepExports({ ...env, EXPORTS_QUEUE: queue }, now + 61 * MINUTE);
    const failed = await exportOf(user, dto.export_id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/stopped making progress/);
  });
});

describe("the expiry sweep", () => {
  it("expires more files than one run takes, within D1's parameter limit, and moves on each run", async () => {
    const users = [await createUser(), await createUser()];
    const now = Date.now();
    const ids: string[] = [];
    // 130 completed exports whose links lapsed (more than one run's 100), with their files.
    for (let i = 0; i < 130; i++) {
      const user = users[i % 2] as TestUser;
      const id = crypto.randomUUID();
      const key = `exports/${user.id}/${id}.csv`;
      const at = new Date(now - 8 * 24 * 3_600_000 + i * 1000).toISOString();
      const expires = new Date(now - 24 * 3_600_000 + (i % 7) * 1000).toISOString();
      await env.DB.prepare(
        `INSERT INTO exports (id, user_id, format, status, r2_key, rows_written, bytes, created_at, updated_at,
           completed_at, expires_at) VALUES (?1, ?2, 'csv', 'completed', ?3, 1, 3, ?4, ?4, ?4, ?5)`,
      )
        .bind(id, user.id, key, at, expires)
        .run();
      await env.FILES.put(key, "a,b");
      ids.push(id);
    }
    const { queue } = capturingExportsQueue();
    const sweeps: number[] = [];
    for (let run = 0; run < 5; run++) {
      // As the cron runs it: an error here (a statement D1 refuses) would fail the whole housekeeping.
      const { expired } = await sweepExports({ ...env, EXPORTS_QUEUE: queue }, now);
      sweeps.push(expired);
      if (expired === 0) break;
    }
    expect(sweeps[0]).toBe(100);
    expect(sweeps.at(-1)).toBe(0);
    const { results } = await env.DB.prepare(
      `SELECT status, count(*) AS n FROM exports WHERE user_id IN (?1, ?2) GROUP BY status`,
    )
      .bind(users[0]?.id, users[1]?.id)
      .all();
    expect(results).toEqual([{ status: "expired", n: 130 }]);
    for (const user of users) {
      expect((await env.FILES.list({ prefix: `exports/${user.id}/` })).objects).toEqual([]);
    }
    await cleanUpExpired({ ...env, EXPORTS_QUEUE: queue }, now);
  });
});

describe("the nightly orphan sweep", () => {
  it("deletes files no export stands behind, a page at a time, and keeps the rest", async () => {
    const user = await createUser();
    await createTask(user, { title: "Kept" });
    const kept = await exportAccount(user, "csv");
    const keptKey = `exports/${user.id}/${kept.export_id}.csv`;
    const gone = await createUser();
    // A file whose row went with its account, and one a failed job left.
    const orphan = `exports/${gone.id}/${crypto.randomUUID()}.json`;
    await env.FILES.put(orphan, "{}");
    const { dto } = await startExport(user, "json");
    const failedKey = `exports/${user.id}/${dto.export_id}.json`;
    await env.DB.prepare("UPDATE exports SET status = 'failed' WHERE id = ?").bind(dto.export_id).run();
    await env.FILES.put(failedKey, "{}");
    // Not an export file: left alone.
    const stray = `exports/${user.id}/notes.txt`;
    await env.FILES.put(stray, "x");

    const swept = await sweepOrphanExports(env, { pageSize: 2, pages: 1000 });
    expect(swept.deleted).toBeGreaterThanOrEqual(2);
    expect(await env.FILES.head(orphan)).toBeNull();
    expect(await env.FILES.head(failedKey)).toBeNull();
    expect(await env.FILES.head(keptKey)).not.toBeNull();
    expect(await env.FILES.head(stray)).not.toBeNull();
    expect((await download(kept.download_url ?? "")).status).toBe(200);
    expect((await sweepOrphanExports(env, { pageSize: 2, pages: 1000 })).deleted).toBe(0);

    // The nightly cron starts it; the 5-minute housekeeping never does (it would not depend on the hour).
    await env.FILES.put(orphan, "{}");
    const { queue, sent } = capturingExportsQueue();
    await sweepExports({ ...env, EXPORTS_QUEUE: queue });
    expect(await env.FILES.head(orphan)).not.toBeNull();
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: CRONS.nightly, scheduledTime: Date.now() }),
      { ...env, EXPORTS_QUEUE: queue, LEARNING_QUEUE: capturingLearningQueue().queue },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await env.FILES.head(orphan)).toBeNull();
    expect(sent.filter((m) => m.type === "export.orphan-sweep")).toEqual([]);
  });

  it("sees every file however many there are: each run lists a few pages and the queue carries on", async () => {
    const gone = await createUser();
    const orphans = Array.from({ length: 5 }, () => `exports/${gone.id}/${crypto.randomUUID()}.json`);
    for (const key of orphans) await env.FILES.put(key, "{}");
    const { queue, sent } = capturingExportsQueue();
    // One page of one key: the run stops with the listing unfinished and hands the cursor on.
    const first = await continueOrphanSweep({ ...env, EXPORTS_QUEUE: queue }, { pages: 1, pageSize: 1 });
    expect(first).toMatchObject({ listed: 1, more: true });
    expect(sent).toEqual([{ type: "export.orphan-sweep", cursor: expect.any(String) }]);
    // The consumer goes on from there to the end, sending nothing more.
    let pending = sent.splice(0);
    for (let hop = 0; pending.length > 0 && hop < 10; hop++) {
      const run = await runExportsQueue(pending);
      expect(run.result.retryMessages).toEqual([]);
      pending = run.sent;
    }
    expect(pending).toEqual([]);
    for (const key of orphans) expect(await env.FILES.head(key)).toBeNull();
  });

  it("retries a page that fails from the same cursor, and drops a malformed message", async () => {
    const broken = {
      list: async () => {
        throw new Error("R2 is unreachable");
      },
    } as unknown as R2Bucket;
    const failed = await runExportsQueue(
      [{ type: "export.orphan-sweep", cursor: "abc" }],
      {},
      { FILES: broken },
    );
    expect(failed.result.retryMessages).toHaveLength(1);
    const malformed = await runExportsQueue([
      { type: "export.orphan-sweep", cursor: "" } as unknown as ExportMessage,
    ]);
    expect(malformed.result.explicitAcks).toHaveLength(1);
    expect(malformed.sent).toEqual([]);
  });
});
