/**
 * What the feed shows, as iCalendar events: tasks with a due date and focus sessions. Pure: the
 * service reads the rows, this decides how each one looks in a calendar.
 *
 * Every item is a VEVENT. Google Calendar and Apple Calendar ignore VTODO in subscribed calendars, so a
 * due task as a to-do would be invisible to most people; as an event it shows up everywhere.
 */
import type { TaskPriority, TaskStatus } from "../../db/schema/tasks";
import { addDays, localClock } from "../../lib/time";
import { escapeText, formatDate, formatUtc } from "./ics-text";
import type { IcsProperty } from "./ics-writer";

/**
 * The domain in every UID. Fixed rather than the request's host: the same feed fetched through
 * another hostname (a custom domain, workers.dev) must name the same items, or clients would
 * show them twice.
 */
export const UID_DOMAIN = "proxy-agent.dev";

/** Marks the kind of item (`task`, `focus-session`), so an import of this feed knows what it reads. */
export const KIND_PROPERTY = "X-PROXY-AGENT-KIND";
/** Set on tasks that are done: VEVENT has no completed status of its own. */
export const STATUS_PROPERTY = "X-PROXY-AGENT-STATUS";

/** A due task with no estimate is shown this long; estimates are clamped so a day is not painted over. */
const DEFAULT_TASK_MINUTES = 30;
const MIN_TASK_MINUTES = 15;
const MAX_TASK_MINUTES = 240;
/** 23:59, the minute capture uses for "due tomorrow" (a date without a time). */
const END_OF_DAY_MINUTE = 23 * 60 + 59;
const MINUTE_MS = 60_000;

/** RFC 5545 PRIORITY: 1 is highest, 9 lowest, 5 the middle (§3.8.1.9). */
export const ICAL_PRIORITY: Record<TaskPriority, number> = { critical: 1, high: 3, medium: 5, low: 7 };

export interface FeedTask {
  id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  dueAt: string;
  estimatedMinutes: number | null;
  tags: string[];
  completedAt: string | null;
}

export interface FeedSession {
  id: string;
  kind: string;
  plannedMinutes: number | null;
  startedAt: string;
  /** When it ended, or, for the running session, when it is planned to end. */
  endsAt: string;
  /** Seconds worked; null while it runs. */
  workedSeconds: number | null;
  running: boolean;
  completed: boolean;
  interruptions: number;
  taskTitle: string | null;
}

/** One event of the feed before it is stamped: its UID and the properties its content is made of. */
export interface FeedEvent {
  uid: string;
  properties: IcsProperty[];
}

const text = (name: string, value: string): IcsProperty => ({ name, value: escapeText(value) });
const utc = (name: string, ms: number): IcsProperty => ({ name, value: formatUtc(ms) });
const date = (name: string, day: string): IcsProperty => ({
  name,
  params: { VALUE: "DATE" },
  value: formatDate(day),
});

/** The UID of a task's event: stable for the task's whole life, whatever changes in it. */
export const taskUid = (taskId: string) => `task-${taskId}@${UID_DOMAIN}`;
export const sessionUid = (sessionId: string) => `focus-${sessionId}@${UID_DOMAIN}`;

/** A task's id when `uid` is one of the feed's task UIDs (an import of a feed of this platform). */
export function taskIdOfUid(uid: string): string | undefined {
  const suffix = `@${UID_DOMAIN}`;
  if (!uid.startsWith("task-") || !uid.endsWith(suffix)) return undefined;
  return uid.slice("task-".length, -suffix.length) || undefined;
}

/**
 * When a task is due, as the event's DTSTART/DTEND. A task due at 23:59 on the owner's wall clock
 * (what "due Friday" means in capture) is an all-day event on that day; any other is a timed event
 * starting at the due moment, as long as its estimate.
 */
function taskTimes(task: FeedTask, zone: string): IcsProperty[] {
  const due = Date.parse(task.dueAt);
  const local = localClock(zone, due);
  if (local.minute === END_OF_DAY_MINUTE && new Date(due).getUTCSeconds() === 0) {
    return [date("DTSTART", local.date), date("DTEND", addDays(local.date, 1))];
  }
  const minutes = Math.min(
    MAX_TASK_MINUTES,
    Math.max(MIN_TASK_MINUTES, task.estimatedMinutes ?? DEFAULT_TASK_MINUTES),
  );
  return [utc("DTSTART", due), utc("DTEND", due + minutes * MINUTE_MS)];
}

/** A due task as an event; a completed one keeps its place, marked done. */
export function taskEvent(task: FeedTask, zone: string): FeedEvent {
  const done = task.status === "completed";
  const properties: IcsProperty[] = [
    text("SUMMARY", done ? `✓ ${task.title}` : task.title),
    ...taskTimes(task, zone),
    { name: "STATUS", value: "CONFIRMED" },
    // A deadline is not a meeting: it should not make the person look busy.
    { name: "TRANSP", value: "TRANSPARENT" },
    { name: "PRIORITY", value: String(ICAL_PRIORITY[task.priority]) },
    { name: KIND_PROPERTY, value: "task" },
  ];
  if (task.description) properties.push(text("DESCRIPTION", task.description));
  if (task.tags.length > 0) {
    properties.push({ name: "CATEGORIES", value: task.tags.map(escapeText).join(",") });
  }
  if (done) {
    properties.push({ name: STATUS_PROPERTY, value: "completed" });
    if (task.completedAt) properties.push(utc("X-PROXY-AGENT-COMPLETED", Date.parse(task.completedAt)));
  }
  return { uid: taskUid(task.id), properties };
}

const KIND_LABELS: Record<string, string> = {
  pomodoro: "Pomodoro",
  deep_work: "Deep work",
  short_burst: "Short burst",
  flowtime: "Flowtime",
  custom: "Custom",
};

function plural(count: number, one: string): string {
  return `${count} ${one}${count === 1 ? "" : "s"}`;
}

function sessionDescription(session: FeedSession): string {
  const parts = [KIND_LABELS[session.kind] ?? session.kind];
  if (session.plannedMinutes !== null) parts.push(`${plural(session.plannedMinutes, "minute")} planned`);
  if (session.running) parts.push("in progress");
  else {
    parts.push(`${plural(Math.round((session.workedSeconds ?? 0) / 60), "minute")} worked`);
    if (session.interruptions > 0) parts.push(plural(session.interruptions, "interruption"));
    if (!session.completed) parts.push("stopped early");
  }
  return parts.join(" · ");
}

/** A focus session (finished, or running with its planned end) as a busy block. */
export function sessionEvent(session: FeedSession): FeedEvent {
  const start = Date.parse(session.startedAt);
  // DTEND must come after DTSTART (§3.6.1): a session stopped at once still gets a minute.
  const end = Math.max(Date.parse(session.endsAt), start + MINUTE_MS);
  return {
    uid: sessionUid(session.id),
    properties: [
      text("SUMMARY", session.taskTitle ? `Focus: ${session.taskTitle}` : "Focus session"),
      utc("DTSTART", start),
      utc("DTEND", end),
      // The running one may still be paused or extended: its end is a plan, not a fact.
      { name: "STATUS", value: session.running ? "TENTATIVE" : "CONFIRMED" },
      { name: "TRANSP", value: "OPAQUE" },
      text("DESCRIPTION", sessionDescription(session)),
      { name: KIND_PROPERTY, value: "focus-session" },
    ],
  };
}
