import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callJson, createUser, problemOf } from "./helpers/api";
import {
  createFeed,
  feedPath,
  fetchFeed,
  icsFile,
  icsUtc,
  importIcs,
  observe,
  postImport,
  vevent,
  vtodo,
} from "./helpers/calendar";
import { runTimerAlarm, startFocus } from "./helpers/focus";
import { createTask } from "./helpers/tasks";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WRITES = /^\s*(insert|update|delete|replace)\b/i;

/** How long an import of `text` takes, through the Worker, and its answer. */
async function timedImport(user: Awaited<ReturnType<typeof createUser>>, text: string) {
  const started = Date.now();
  const res = await postImport(user, text);
  const body = await res.text();
  return { status: res.status, body, ms: Date.now() - started };
}

describe("an import built to cost", () => {
  it("answers quickly however a rule from the year 1000 with COUNT and a long BYDAY is repeated", async () => {
    const user = await createUser();
    const lastWeekdays = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].map((d) => `-1${d}`).join(",");
    const events = Array.from({ length: 85 }, (_, i) =>
      vevent({ UID: `cpu-${i}`, DTSTART: "10000101T090000Z", SUMMARY: "x" }, [
        `RRULE:FREQ=MONTHLY;COUNT=85000;BYDAY=${lastWeekdays}`,
      ]),
    );
    const answer = await timedImport(user, icsFile(...events));
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(2000);
    expect(answer.body).toContain("too many occurrences");
  });

  it("refuses BYDAY lists longer than 50 entries, repeated or not, with 422 naming the line", async () => {
    const user = await createUser();
    for (const list of [Array(100).fill("1MO"), Array(20_000).fill("MO")]) {
      const text = icsFile(
        vevent({ UID: "long-list", DTSTART: "10000101T090000Z", SUMMARY: "x" }, [
          `RRULE:FREQ=MONTHLY;COUNT=85000;BYDAY=${list.join(",")}`,
        ]),
      );
      const answer = await timedImport(user, text);
      expect(answer.status).toBe(422);
      expect(answer.ms).toBeLessThan(2000);
      expect(JSON.parse(answer.body).detail).toMatch(/^Line 8: RRULE BYDAY lists more than 50 entries/);
    }
  });

  it("answers huge numbers with 422 naming the line, never a 500", async () => {
    const user = await createUser();
    const start = icsUtc(Date.now() + DAY);
    const cases: [string[], string][] = [
      [vtodo({ UID: "d1", DTSTART: start, DURATION: "P99999999W" }), "DURATION"],
      [vtodo({ UID: "d2", DTSTART: start, DURATION: `P${"9".repeat(400)}D` }), "DURATION"],
      [vtodo({ UID: "d3", DTSTART: "99991231T000000Z", DURATION: "P1D" }), "after the year 9999"],
      [vevent({ UID: "c1", DTSTART: start }, [`RRULE:FREQ=DAILY;COUNT=${"9".repeat(400)}`]), "COUNT"],
      [vevent({ UID: "c2", DTSTART: start }, ["RRULE:FREQ=DAILY;INTERVAL=99999999999"]), "INTERVAL"],
    ];
    for (const [component, says] of cases) {
      const res = await postImport(user, icsFile(component));
      expect(res.status, component.join(" ")).toBe(422);
      const problem = await problemOf(res);
      expect(problem.detail).toMatch(/^Line \d+: /);
      expect(problem.detail).toContain(says);
    }
    // Numbers that are merely large are read: an interval past the window, a SEQUENCE of 30 digits.
    const fine = await importIcs(
      user,
      icsFile(
        vevent({ UID: "i1", DTSTART: start, SUMMARY: "Once" }, ["RRULE:FREQ=MONTHLY;INTERVAL=999999999"]),
        vevent({ UID: "s1", DTSTART: start, SUMMARY: "Versioned", SEQUENCE: "9".repeat(30) }),
      ),
    );
    expect(fine).toMatchObject({ created: 2 });
  });

  it("remembers a UID longer than 255 bytes by its hash, and answers it short", async () => {
    const user = await createUser();
    const uid = `${"x".repeat(100_000)}@example.com`;
    const start = Date.now() + 2 * DAY;
    const text = icsFile(
      vevent({ UID: uid, DTSTART: icsUtc(start), SUMMARY: "Long UID" }),
      vevent({ UID: uid, DTSTART: icsUtc(start), SUMMARY: "Long UID again" }),
    );
    const res = await postImport(user, text);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body.length).toBeLessThan(2000);
    const result = JSON.parse(body) as { created: number; items: { uid: string }[] };
    expect(result.created).toBe(1);
    expect(result.items[0]?.uid).toMatch(/^sha256:[0-9a-f]{64}$/);
    const rows = await env.DB.prepare("SELECT uid FROM calendar_imports WHERE user_id = ?")
      .bind(user.id)
      .all<{ uid: string }>();
    expect(rows.results.map((r) => r.uid)).toEqual([result.items[0]?.uid]);
    expect(await importIcs(user, text)).toMatchObject({ created: 0, unchanged: 1 });
  });

  it("refuses a file of more than 50,000 lines with 413, quickly", async () => {
    const user = await createUser();
    const text = `BEGIN:VCALENDAR\r\n${"X-A:1\r\n".repeat(60_000)}END:VCALENDAR\r\n`;
    const answer = await timedImport(user, text);
    expect(answer.status).toBe(413);
    expect(answer.ms).toBeLessThan(2000);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "too_many_lines" });
    expect(JSON.parse(answer.body).detail).toContain("50000 lines");
  });
});

describe("a lost race between two imports", () => {
  it("keeps and announces what it wrote before, and says it imported part of the file", async () => {
    const user = await createUser();
    const due = icsUtc(Date.now() + DAY);
    const text = icsFile(
      ...Array.from({ length: 60 }, (_, i) => vtodo({ UID: `race-${i}`, SUMMARY: `Item ${i}`, DUE: due })),
    );
    let writes = 0;
    // The other import records item 55 between this one's read and its second write.
    const answer = await observe(
      "/api/v1/calendar/import",
      { method: "POST", token: user.token, headers: { "content-type": "text/calendar" }, body: text },
      {
        beforeBatch: async (sql) => {
          if (!sql.some((s) => /insert into "calendar_imports"/i.test(s))) return;
          writes += 1;
          if (writes !== 2) return;
          await env.DB.prepare(
            "INSERT INTO calendar_imports (user_id, uid, recurrence_key, task_id, content_hash, sequence, created_at, updated_at) VALUES (?, 'race-55', '', 'other', 'x', 0, ?, ?)",
          )
            .bind(user.id, new Date().toISOString(), new Date().toISOString())
            .run();
        },
      },
    );
    expect(answer.status).toBe(409);
    const problem = JSON.parse(answer.body) as { code: string; detail: string };
    expect(problem.code).toBe("import_in_progress");
    expect(problem.detail).toContain("50 items were imported");
    expect(problem.detail).toContain("retry");
    const tasks = await env.DB.prepare(
      "SELECT id FROM tasks WHERE user_id = ? AND task_source = 'calendar' AND deleted_at IS NULL",
    )
      .bind(user.id)
      .all<{ id: string }>();
    expect(tasks.results).toHaveLength(50);
    const announced = answer.published.flatMap((e) =>
      e.type === "task.created" && "task_id" in e.data ? [e.data.task_id] : [],
    );
    expect(announced.sort()).toEqual(tasks.results.map((t) => t.id).sort());
    // Importing again finishes the rest (item 55 now belongs to the other import).
    expect(await importIcs(user, text)).toMatchObject({ created: 9, unchanged: 50 });
  });
});

describe("a feed poll", () => {
  async function servedFeed() {
    const user = await createUser();
    await createTask(user, {
      title: "Stays",
      due_at: new Date(Date.now() + 2 * DAY + 7 * MINUTE).toISOString(),
    });
    const leaving = await createTask(user, {
      title: "Leaves",
      due_at: new Date(Date.now() + 3 * DAY + 7 * MINUTE).toISOString(),
    });
    const feed = await createFeed(user);
    await (await fetchFeed(feed.url)).text();
    // Gone from the feed, but served recently: remembered, and no reason to write anything.
    await callJson(`/api/v1/tasks/${leaving.task_id}`, 204, { method: "DELETE", token: user.token });
    const first = await fetchFeed(feed.url);
    await first.text();
    return { user, feed, etag: first.headers.get("etag") ?? "" };
  }

  it("reads at the primary in one round trip, asks no FocusTimer and writes nothing when nothing changed", async () => {
    const { feed } = await servedFeed();
    const full = await observe(feedPath(feed.url));
    expect(full.status).toBe(200);
    expect(full.body).toContain("SUMMARY:Stays");
    expect(full.sessions).toContain("first-primary");
    expect(full.statements.filter((s) => WRITES.test(s))).toEqual([]);
    expect(full.timerCalls).toBe(0);
    expect(full.trips).toBe(1);
  });

  it("answers a matching ETag with 304 in the same single read", async () => {
    const { feed, etag } = await servedFeed();
    const polled = await observe(feedPath(feed.url), { headers: { "if-none-match": etag } });
    expect(polled.status).toBe(304);
    expect(polled.statements.filter((s) => WRITES.test(s))).toEqual([]);
    expect(polled.trips).toBe(1);
    expect(polled.timerCalls).toBe(0);
  });

  it("asks the FocusTimer only while a focus session runs", async () => {
    const { user, feed, etag } = await servedFeed();
    await startFocus(user, { kind: "custom", duration_minutes: 25 });
    // The timer writes the start to D1's outbox just after it answers: its alarm makes sure it is there.
    await runTimerAlarm(user);
    const polled = await observe(feedPath(feed.url), { headers: { "if-none-match": etag } });
    expect(polled.status).toBe(200);
    expect(polled.timerCalls).toBe(1);
    expect(polled.body).toContain("STATUS:TENTATIVE");
  });
});

describe("an import", () => {
  it("reads and writes at the primary", async () => {
    const user = await createUser();
    const text = icsFile(vtodo({ UID: "primary-1", SUMMARY: "Fresh", DUE: icsUtc(Date.now() + DAY) }));
    const answer = await observe("/api/v1/calendar/import", {
      method: "POST",
      token: user.token,
      headers: { "content-type": "text/calendar" },
      body: text,
    });
    expect(answer.status).toBe(200);
    expect(answer.sessions).toContain("first-primary");
  });
});
