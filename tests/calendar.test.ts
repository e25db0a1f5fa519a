import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import {
  createFeed,
  feedPath,
  feedText,
  fetchFeed,
  icsDate,
  icsFile,
  icsUtc,
  importIcs,
  postImport,
  readFeed,
  vevent,
  vtodo,
} from "./helpers/calendar";
import { backdated } from "./helpers/clock";
import { focusAction, runTimerAlarm, startFocus } from "./helpers/focus";
import { eventsOf } from "./helpers/outbox";
import { completeTask, createTask, getTask, type Task } from "./helpers/tasks";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A whole minute about `ms` from now, as an ISO string (calendars keep whole seconds) — never 23:59
 * UTC, the minute the feed shows as a whole day (the users here live in UTC): a timed task must stay
 * timed whatever time the suite runs at.
 */
function fromNow(ms: number): string {
  const minute = Math.ceil((Date.now() + ms) / MINUTE) * MINUTE;
  const endOfDay = new Date(minute).getUTCHours() === 23 && new Date(minute).getUTCMinutes() === 59;
  return new Date(endOfDay ? minute + MINUTE : minute).toISOString();
}

/** 23:59 UTC, `days` days from today: what capture stores for "due <that day>" in UTC. */
function endOfDayIn(days: number): string {
  const day = new Date(Date.now() + days * DAY);
  day.setUTCHours(23, 59, 0, 0);
  return day.toISOString();
}

const tasksOf = (user: TestUser) => callJson<Task[]>("/api/v1/tasks?limit=100", 200, { token: user.token });

async function calendarTasks(user: TestUser): Promise<Task[]> {
  return (await tasksOf(user)).filter((t) => t.task_source === "calendar");
}

describe("the calendar feed URL", () => {
  it("is an absolute URL with a secret of 32 random bytes, of which only the hash is stored", async () => {
    const user = await createUser();
    const feed = await createFeed(user);
    expect(feed.url).toMatch(/^https:\/\/api\.test\/api\/v1\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
    const token = feedPath(feed.url).split("/").at(-1)?.replace(".ics", "") ?? "";
    const row = await env.DB.prepare("SELECT token_hash FROM calendar_feeds WHERE user_id = ?")
      .bind(user.id)
      .first<{ token_hash: string }>();
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.token_hash).not.toContain(token);
  });

  it("is answered without a bearer token, as text/calendar that ical.js parses, holding the due task", async () => {
    const user = await createUser();
    const dueAt = fromNow(2 * DAY + 3 * HOUR);
    const task = await createTask(user, {
      title: "Call the dentist, then; pay\\rent",
      description: "Line one\nLine two, with a comma",
      due_at: dueAt,
      estimated_minutes: 45,
      priority: "high",
      tags: ["health"],
    });
    await createTask(user, { title: "No due date" });
    const feed = await createFeed(user);
    const res = await fetchFeed(feed.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(res.headers.get("cache-control")).toContain("private");
    const text = await res.text();
    // CRLF everywhere, and no line over 75 octets.
    expect(text.endsWith("\r\n")).toBe(true);
    for (const line of text.split("\r\n"))
      expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(75);
    const { calendar, events } = readFeed(text);
    expect(calendar.getFirstPropertyValue("version")).toBe("2.0");
    expect(calendar.getFirstPropertyValue("x-wr-calname")).toBeTruthy();
    expect(calendar.getFirstPropertyValue("x-published-ttl")).toBe("PT1H");
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      uid: `task-${task.task_id}@proxy-agent.dev`,
      summary: "Call the dentist, then; pay\\rent",
      description: "Line one\nLine two, with a comma",
      allDay: false,
      sequence: 0,
      kind: "task",
      done: false,
    });
    expect(event?.start.toISOString()).toBe(dueAt);
    expect(event?.end.getTime()).toBe(Date.parse(dueAt) + 45 * MINUTE);
    // Times are UTC.
    expect(text).toMatch(/\r\nDTSTART:\d{8}T\d{6}Z\r\n/);
  });

  it("shows a task due at 23:59 as an all-day event on that day, and a completed one marked done", async () => {
    const user = await createUser();
    const dueAt = endOfDayIn(3);
    const allDay = await createTask(user, { title: "Submit the form", due_at: dueAt });
    const done = await createTask(user, { title: "Already done", due_at: fromNow(DAY) });
    await completeTask(user, done.task_id);
    const feed = await createFeed(user);
    const { events } = readFeed(await feedText(feed.url));
    const day = events.find((e) => e.uid.includes(allDay.task_id));
    expect(day?.allDay).toBe(true);
    expect(icsDate(day?.start.getTime() ?? 0)).toBe(icsDate(Date.parse(dueAt)));
    const finished = events.find((e) => e.uid.includes(done.task_id));
    expect(finished).toMatchObject({ summary: "✓ Already done", done: true });
  });

  it("keeps UIDs, SEQUENCE and the body the same across fetches, and answers 304 to its ETag or date", async () => {
    const user = await createUser();
    await createTask(user, { title: "Stable", due_at: fromNow(DAY) });
    const feed = await createFeed(user);
    const first = await fetchFeed(feed.url);
    const firstText = await first.text();
    const etag = first.headers.get("etag") ?? "";
    const lastModified = first.headers.get("last-modified") ?? "";
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(Date.parse(lastModified)).not.toBeNaN();

    const second = await fetchFeed(feed.url);
    expect(await second.text()).toBe(firstText);
    expect(second.headers.get("etag")).toBe(etag);
    expect(second.headers.get("last-modified")).toBe(lastModified);

    const conditional = await fetchFeed(feed.url, { "if-none-match": `W/${etag}` });
    expect(conditional.status).toBe(304);
    expect(await conditional.text()).toBe("");
    const byDate = await fetchFeed(feed.url, { "if-modified-since": lastModified });
    expect(byDate.status).toBe(304);
    await byDate.text();
    const stale = await fetchFeed(feed.url, { "if-none-match": '"0000"' });
    expect(stale.status).toBe(200);
    await stale.text();
  });

  it("raises an item's SEQUENCE when the task changes, keeping its UID, with a new ETag", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Draft", due_at: fromNow(DAY) });
    const other = await createTask(user, { title: "Untouched", due_at: fromNow(2 * DAY) });
    const feed = await createFeed(user);
    const before = await fetchFeed(feed.url);
    const beforeEvents = readFeed(await before.text()).events;
    await callJson(`/api/v1/tasks/${task.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { title: "Final", due_at: fromNow(3 * DAY) },
    });
    const after = await fetchFeed(feed.url);
    expect(after.headers.get("etag")).not.toBe(before.headers.get("etag"));
    const afterEvents = readFeed(await after.text()).events;
    const was = beforeEvents.find((e) => e.uid.includes(task.task_id));
    const now = afterEvents.find((e) => e.uid.includes(task.task_id));
    expect(now?.uid).toBe(was?.uid);
    expect(now?.summary).toBe("Final");
    expect(now?.sequence).toBe((was?.sequence ?? 0) + 1);
    expect(now?.stamp.getTime()).toBeGreaterThanOrEqual(was?.stamp.getTime() ?? 0);
    // The item that did not change keeps its version.
    const untouched = afterEvents.find((e) => e.uid.includes(other.task_id));
    expect(untouched?.sequence).toBe(0);
    // And fetching again changes nothing more.
    const again = readFeed(await feedText(feed.url)).events.find((e) => e.uid.includes(task.task_id));
    expect(again?.sequence).toBe(now?.sequence);
  });

  it("forgets what it served of an item gone from the feed for 90 days", async () => {
    const user = await createUser();
    const feed = await createFeed(user);
    // A task due a hundred days ago, served back then: it has long left the feed's 30 days.
    await backdated(100 * DAY, async () => {
      await createTask(user, { title: "Long ago", due_at: fromNow(DAY) });
      await feedText(feed.url);
    });
    const served = () =>
      env.DB.prepare("SELECT uid FROM calendar_feed_items WHERE user_id = ?")
        .bind(user.id)
        .all<{ uid: string }>();
    expect((await served()).results).toHaveLength(1);
    const current = await createTask(user, { title: "Now", due_at: fromNow(DAY) });
    await feedText(feed.url);
    expect((await served()).results.map((r) => r.uid)).toEqual([`task-${current.task_id}@proxy-agent.dev`]);
  });

  it("shows the running focus session as planned, then the finished one under the same UID", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Write the report", due_at: fromNow(DAY) });
    const started = await startFocus(user, { kind: "custom", duration_minutes: 25, task_id: task.task_id });
    // The feed learns of a running session from the start D1's outbox records just after the timer
    // answers; the timer's alarm makes sure it has been written.
    await runTimerAlarm(user);
    const feed = await createFeed(user);
    const running = readFeed(await feedText(feed.url)).events.find((e) => e.kind === "focus-session");
    expect(running).toMatchObject({ summary: "Focus: Write the report", status: "TENTATIVE" });
    expect(running?.uid).toBe(`focus-${started.session?.session_id}@proxy-agent.dev`);
    expect((running?.end.getTime() ?? 0) - (running?.start.getTime() ?? 0)).toBeGreaterThanOrEqual(
      25 * MINUTE - 1000,
    );
    await focusAction(user, "finish", { take_break: false });
    const finished = readFeed(await feedText(feed.url)).events.find((e) => e.kind === "focus-session");
    expect(finished).toMatchObject({ uid: running?.uid, status: "CONFIRMED" });
    expect(finished?.sequence).toBe((running?.sequence ?? 0) + 1);
    expect(finished?.description).toContain("worked");
  });
});

describe("a feed token that is not live", () => {
  const expect404 = async (url: string) => {
    const res = await fetchFeed(url);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe("not_found");
  };

  it("is 404 when wrong, malformed or not an .ics", async () => {
    const user = await createUser();
    const feed = await createFeed(user);
    const wrong = feed.url.replace(/[A-Za-z0-9_-]{43}\.ics$/, `${"A".repeat(43)}.ics`);
    await expect404(wrong);
    await expect404(feed.url.replace(".ics", ""));
    await expect404(feed.url.replace(/[A-Za-z0-9_-]{43}\.ics$/, "short.ics"));
    // GET on the management path is not a feed either.
    const feedRoute = await call("/api/v1/calendar/feed");
    expect(feedRoute.status).toBe(404);
    await feedRoute.text();
  });

  it("is 404 after the user asks for a new URL (rotation), while the new one works", async () => {
    const user = await createUser();
    const old = await createFeed(user);
    const fresh = await createFeed(user);
    expect(fresh.url).not.toBe(old.url);
    await expect404(old.url);
    expect((await fetchFeed(fresh.url)).status).toBe(200);
  });

  it("is 404 after DELETE (204); a second DELETE is 404", async () => {
    const user = await createUser();
    const feed = await createFeed(user);
    await callJson("/api/v1/calendar/feed", 204, { method: "DELETE", token: user.token });
    await expect404(feed.url);
    const again = await call("/api/v1/calendar/feed", { method: "DELETE", token: user.token });
    expect(again.status).toBe(404);
    await again.text();
  });

  it("cannot be revoked by another user: their DELETE is 404 and the owner's feed still answers", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const feed = await createFeed(alice);
    const res = await call("/api/v1/calendar/feed", { method: "DELETE", token: bob.token });
    expect(res.status).toBe(404);
    await res.text();
    const still = await fetchFeed(feed.url);
    expect(still.status).toBe(200);
    await still.text();
  });

  it("cannot be minted by an API token (the URL is a credential): 403", async () => {
    const user = await createUser();
    const { token } = await createApiToken(user.token, {
      name: "script",
      scopes: ["tasks:read", "tasks:write"],
    });
    const res = await call("/api/v1/calendar/feed", { method: "POST", token });
    expect(res.status).toBe(403);
    await res.text();
  });
});

describe("importing an .ics file", () => {
  const meeting = (uid: string, start: number, summary = "Team meeting") =>
    vevent({
      UID: uid,
      DTSTAMP: icsUtc(Date.now()),
      DTSTART: icsUtc(start),
      DTEND: icsUtc(start + HOUR),
      SUMMARY: summary,
    });

  function sample() {
    const start = Date.parse(fromNow(2 * DAY));
    const due = Date.parse(fromNow(4 * DAY));
    const allDay = Date.now() + 5 * DAY;
    return {
      start,
      due,
      allDay,
      text: icsFile(
        meeting("meeting-1@example.com", start, "Team meeting\\, with snacks"),
        vtodo({
          UID: "todo-1@example.com",
          DTSTAMP: icsUtc(Date.now()),
          SUMMARY: "Renew passport",
          DUE: icsUtc(due),
          PRIORITY: "1",
        }),
        vevent({ UID: "day-1@example.com", "DTSTART;VALUE=DATE": icsDate(allDay), SUMMARY: "Moving day" }),
        vevent({ UID: "past-1@example.com", DTSTART: icsUtc(Date.now() - 3 * DAY), SUMMARY: "Long over" }),
        vtodo({ UID: "done-1@example.com", SUMMARY: "Done already", STATUS: "COMPLETED" }),
      ),
    };
  }

  it("previews the actions with counts and the first items, and writes nothing", async () => {
    const user = await createUser();
    const { text } = sample();
    const before = (
      await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
        .bind(user.id)
        .first<{ n: number }>()
    )?.n;
    const preview = await importIcs(user, text, true);
    expect(preview).toMatchObject({ preview: true, created: 3, updated: 0, unchanged: 0, skipped: 2 });
    expect(preview.items.map((i) => [i.uid, i.action, i.task_id])).toEqual([
      ["meeting-1@example.com", "created", null],
      ["todo-1@example.com", "created", null],
      ["day-1@example.com", "created", null],
    ]);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(after?.n).toBe(before);
    const records = await env.DB.prepare("SELECT count(*) AS n FROM calendar_imports WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(records?.n).toBe(0);
  });

  it("creates tasks from events and to-dos, each with its task.created event", async () => {
    const user = await createUser();
    const { text, start, due, allDay } = sample();
    const result = await importIcs(user, text);
    expect(result).toMatchObject({ preview: false, created: 3, updated: 0, unchanged: 0, skipped: 2 });
    const tasks = await calendarTasks(user);
    const byTitle = new Map(tasks.map((t) => [t.title, t]));
    expect(byTitle.get("Team meeting, with snacks")).toMatchObject({ estimated_minutes: 60 });
    expect(byTitle.get("Team meeting, with snacks")?.due_at).toBe(new Date(start).toISOString());
    expect(byTitle.get("Renew passport")).toMatchObject({
      priority: "critical",
      due_at: new Date(due).toISOString(),
    });
    // A whole day is due at its end on the importer's clock (UTC here), as capture reads "due <day>".
    const dayEnd = new Date(allDay);
    dayEnd.setUTCHours(23, 59, 0, 0);
    expect(byTitle.get("Moving day")?.due_at).toBe(dayEnd.toISOString());
    expect(result.items.map((i) => i.task_id).sort()).toEqual(tasks.map((t) => t.task_id).sort());
    const created = await eventsOf(user.id, "task.created");
    expect(created.filter((e) => e.data.task_source === "calendar")).toHaveLength(3);
  });

  it("changes nothing when the same file is imported again", async () => {
    const user = await createUser();
    const { text } = sample();
    await importIcs(user, text);
    const tasksBefore = await calendarTasks(user);
    const again = await importIcs(user, text);
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 3, skipped: 2 });
    expect(again.items.every((i) => i.action === "unchanged")).toBe(true);
    expect(await calendarTasks(user)).toEqual(tasksBefore);
  });

  it("updates the task of an item that changed (same UID) instead of adding another", async () => {
    const user = await createUser();
    const start = Date.parse(fromNow(2 * DAY));
    await importIcs(user, icsFile(meeting("move-me@example.com", start)));
    const [task] = await calendarTasks(user);
    const moved = Date.parse(fromNow(6 * DAY));
    const changed = icsFile([
      ...meeting("move-me@example.com", moved, "Team meeting (moved)").slice(0, -1),
      "SEQUENCE:1",
      "DESCRIPTION:Room 4",
      "END:VEVENT",
    ]);
    const preview = await importIcs(user, changed, true);
    expect(preview).toMatchObject({ created: 0, updated: 1 });
    expect((await getTask(user, task?.task_id ?? "")).title).toBe("Team meeting");
    const result = await importIcs(user, changed);
    expect(result).toMatchObject({ created: 0, updated: 1, unchanged: 0 });
    expect(result.items[0]?.task_id).toBe(task?.task_id);
    const tasks = await calendarTasks(user);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      task_id: task?.task_id,
      title: "Team meeting (moved)",
      description: "Room 4",
      due_at: new Date(moved).toISOString(),
    });
  });

  it("keeps a task edited by hand since the import as it is, when its item changes", async () => {
    const user = await createUser();
    const start = Date.parse(fromNow(2 * DAY));
    await importIcs(user, icsFile(meeting("edited@example.com", start), meeting("plain@example.com", start)));
    const [first, second] = (
      await importIcs(
        user,
        icsFile(meeting("edited@example.com", start), meeting("plain@example.com", start)),
        true,
      )
    ).items;
    const editedId = first?.task_id ?? "";
    const plainId = second?.task_id ?? "";
    await callJson(`/api/v1/tasks/${editedId}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { title: "My own title" },
    });
    const moved = Date.parse(fromNow(5 * DAY));
    const changed = icsFile(
      meeting("edited@example.com", moved, "Renamed"),
      meeting("plain@example.com", moved, "Renamed"),
    );
    const preview = await importIcs(user, changed, true);
    expect(preview).toMatchObject({ created: 0, updated: 1, kept: 1, unchanged: 0 });
    const result = await importIcs(user, changed);
    expect(result).toMatchObject({ created: 0, updated: 1, kept: 1, unchanged: 0 });
    expect(result.warnings.map((w) => w.message).join(" ")).toContain("you edited their tasks");
    expect(result.items.map((i) => [i.task_id, i.action])).toEqual([
      [editedId, "kept"],
      [plainId, "updated"],
    ]);
    expect(await getTask(user, editedId)).toMatchObject({
      title: "My own title",
      due_at: new Date(start).toISOString(),
    });
    expect(await getTask(user, plainId)).toMatchObject({
      title: "Renamed",
      due_at: new Date(moved).toISOString(),
    });
    // Still kept next time: the person's edit goes on winning.
    expect(await importIcs(user, changed)).toMatchObject({ updated: 0, kept: 1, unchanged: 1 });
  });

  it("follows Outlook's monthly first Monday and yearly date rules over the window", async () => {
    const user = await createUser();
    // From a year ago at 09:00 UTC: the first Monday of each month.
    const yearAgo = new Date(Date.now() - 365 * DAY);
    yearAgo.setUTCHours(9, 0, 0, 0);
    // A date 20 days ahead (not February 29, which years skip), from three years back.
    let target = new Date(Date.now() + 20 * DAY);
    if (target.getUTCMonth() === 1 && target.getUTCDate() === 29) target = new Date(target.getTime() + DAY);
    target.setUTCHours(9, 0, 0, 0);
    const yearly = new Date(target);
    yearly.setUTCFullYear(target.getUTCFullYear() - 3);
    const text = icsFile(
      vevent({ UID: "first-monday@example.com", DTSTART: icsUtc(yearAgo.getTime()), SUMMARY: "Review" }, [
        "RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1",
      ]),
      vevent({ UID: "yearly@example.com", DTSTART: icsUtc(yearly.getTime()), SUMMARY: "Renewal" }, [
        `RRULE:FREQ=YEARLY;BYMONTH=${target.getUTCMonth() + 1};BYMONTHDAY=${target.getUTCDate()}`,
      ]),
    );
    const result = await importIcs(user, text);
    expect(result.warnings).toEqual([]);
    const tasks = await calendarTasks(user);
    const reviews = tasks.filter((t) => t.title === "Review").map((t) => new Date(t.due_at ?? ""));
    // Sixty days always hold a first Monday, and at most three.
    expect(reviews.length).toBeGreaterThanOrEqual(1);
    expect(reviews.length).toBeLessThanOrEqual(3);
    for (const due of reviews) {
      expect(due.getUTCDay()).toBe(1);
      expect(due.getUTCDate()).toBeLessThanOrEqual(7);
      expect(due.getUTCHours()).toBe(9);
      expect(due.getTime()).toBeGreaterThan(Date.now());
    }
    expect(tasks.filter((t) => t.title === "Renewal").map((t) => t.due_at)).toEqual([target.toISOString()]);
  });

  it("does not bring back a task deleted after an earlier import", async () => {
    const user = await createUser();
    const text = icsFile(meeting("deleted@example.com", Date.parse(fromNow(2 * DAY))));
    await importIcs(user, text);
    const [task] = await calendarTasks(user);
    await callJson(`/api/v1/tasks/${task?.task_id}`, 204, { method: "DELETE", token: user.token });
    const again = await importIcs(user, text);
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 0, skipped: 1 });
    expect(again.warnings.map((w) => w.message).join(" ")).toContain("deleted");
    expect(await calendarTasks(user)).toEqual([]);
  });

  it("never doubles an item when the same file is imported twice at once", async () => {
    const user = await createUser();
    const start = Date.parse(fromNow(2 * DAY));
    const text = icsFile(meeting("race-1@example.com", start), meeting("race-2@example.com", start + HOUR));
    const answers = await Promise.all([postImport(user, text), postImport(user, text)]);
    for (const res of answers) {
      expect([200, 409]).toContain(res.status);
      if (res.status === 409) expect((await problemOf(res)).code).toBe("import_in_progress");
      else await res.text();
    }
    expect(await calendarTasks(user)).toHaveLength(2);
    expect(await importIcs(user, text)).toMatchObject({ created: 0, unchanged: 2 });
  });

  it("expands a recurring event over the next 60 days only, without the EXDATE'd occurrence", async () => {
    const user = await createUser();
    // Daily at this time of day, from ten days ago, with no end: only what lies ahead is imported.
    const first = Date.parse(fromNow(-10 * DAY + HOUR));
    const skippedDay = first + 13 * DAY;
    const text = icsFile(
      vevent(
        {
          UID: "daily@example.com",
          DTSTART: icsUtc(first),
          DTEND: icsUtc(first + 30 * MINUTE),
          SUMMARY: "Standup",
        },
        ["RRULE:FREQ=DAILY", `EXDATE:${icsUtc(skippedDay)}`],
      ),
    );
    const result = await importIcs(user, text);
    const tasks = await calendarTasks(user);
    expect(tasks.length).toBe(result.created);
    const dues = tasks.map((t) => Date.parse(t.due_at ?? "")).sort((a, b) => a - b);
    const now = Date.now();
    for (const due of dues) {
      expect(due + 30 * MINUTE).toBeGreaterThan(now - MINUTE);
      expect(due).toBeLessThanOrEqual(now + 60 * DAY);
    }
    // Sixty days ahead, one a day, less the one excluded (give or take today's and the window's edges).
    expect(dues.length).toBeGreaterThanOrEqual(58);
    expect(dues.length).toBeLessThanOrEqual(60);
    expect(dues).not.toContain(skippedDay);
    expect(dues).toContain(skippedDay + DAY);
    // One record per occurrence: importing again changes nothing.
    expect(await importIcs(user, text)).toMatchObject({ created: 0, unchanged: dues.length });
  });

  it("imports an event whose RRULE it cannot follow once, with a warning naming the line", async () => {
    const user = await createUser();
    const start = Date.parse(fromNow(3 * DAY));
    const text = icsFile(
      vevent({ UID: "odd@example.com", DTSTART: icsUtc(start), SUMMARY: "Odd rule" }, [
        "RRULE:FREQ=DAILY;BYHOUR=9,17",
      ]),
    );
    const result = await importIcs(user, text);
    expect(result.created).toBe(1);
    expect(result.warnings).toContainEqual({
      line: 8,
      message: 'RRULE BYHOUR is not supported: "Odd rule" is imported once, at its first occurrence.',
    });
  });

  it("answers a malformed file with 422 naming the line", async () => {
    const user = await createUser();
    const cases: [string, number, string][] = [
      ["BEGIN:VEVENT\r\nEND:VEVENT\r\n", 1, "BEGIN:VCALENDAR"],
      [icsFile(vevent({ UID: "x", DTSTART: "20261345T250000Z", SUMMARY: "Bad" })), 6, "DTSTART"],
      [icsFile(["BEGIN:VEVENT", "UID:y", "END:VTODO"]), 6, "END:VTODO"],
      [icsFile(["BEGIN:VEVENT", "UID:z"]), 6, "does not close BEGIN:VEVENT of line 4"],
      ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", 1, "never closed"],
      [
        icsFile(vevent({ UID: "r", DTSTART: icsUtc(Date.now() + DAY) }, ["RRULE:FREQ=DAILY;COUNT=many"])),
        7,
        "COUNT",
      ],
      [icsFile(["BEGIN:VEVENT", "no colon here", "END:VEVENT"]), 5, ""],
    ];
    for (const [text, line, says] of cases) {
      const res = await postImport(user, text);
      expect(res.status, text).toBe(422);
      const problem = await problemOf(res);
      expect(problem.detail).toMatch(new RegExp(`^Line ${line}: `));
      expect(problem.detail).toContain(says);
      expect(problem.errors?.[0]?.field).toBe(`line ${line}`);
    }
    expect(await calendarTasks(user)).toEqual([]);
  });

  it("refuses more than 500 items with 413, and needs tasks:write", async () => {
    const user = await createUser();
    const due = icsUtc(Date.now() + DAY);
    const many = icsFile(
      ...Array.from({ length: 501 }, (_, i) => vtodo({ UID: `bulk-${i}`, SUMMARY: `Item ${i}`, DUE: due })),
    );
    const res = await postImport(user, many);
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe("too_many_items");
    const { token } = await createApiToken(user.token, { name: "reader", scopes: ["tasks:read"] });
    const refused = await postImport({ ...user, token }, icsFile());
    expect(refused.status).toBe(403);
    await refused.text();
  });

  it("takes text/plain too, and an empty calendar imports nothing", async () => {
    const user = await createUser();
    const res = await postImport(user, icsFile(), { contentType: "text/plain" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ created: 0, updated: 0, unchanged: 0, skipped: 0, items: [] });
  });
});

describe("a feed imported into another account", () => {
  it("gives the same titles and due dates, skips what is done, and is not imported into its own account", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const timed = await createTask(alice, {
      title: "Pitch, the big one; really",
      due_at: fromNow(3 * DAY),
      estimated_minutes: 90,
    });
    const allDay = await createTask(alice, { title: "Pay rent", due_at: endOfDayIn(5) });
    const done = await createTask(alice, { title: "Finished already", due_at: fromNow(2 * DAY) });
    await completeTask(alice, done.task_id);
    await startFocus(alice, { kind: "custom", duration_minutes: 20 });
    const feed = await createFeed(alice);
    const text = await feedText(feed.url);

    const result = await importIcs(bob, text);
    expect(result).toMatchObject({ created: 2, updated: 0 });
    const imported = await calendarTasks(bob);
    expect(imported.map((t) => [t.title, t.due_at]).sort()).toEqual(
      [
        [timed.title, timed.due_at],
        [allDay.title, allDay.due_at],
      ].sort(),
    );
    expect(await importIcs(bob, text)).toMatchObject({ created: 0, updated: 0, unchanged: 2 });

    const own = await importIcs(alice, text);
    expect(own).toMatchObject({ created: 0, updated: 0 });
    expect(await calendarTasks(alice)).toEqual([]);
  });
});
