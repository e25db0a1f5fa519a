/**
 * What a person is told, and when: the pure mapping from domain events (and due reminders) to the
 * notifications they make. Short, warm, and about the next step — never a guilt trip.
 */
import type { DomainEvent, EventType } from "../../lib/events/catalog";
import type { NotifyDraft } from "./message";

/** The events that may notify someone; the handler subscribes to exactly these. */
export const NOTIFYING_EVENTS = [
  "focus.completed",
  "break.over",
  "pet.needs_attention",
  "level.up",
  "achievement.unlocked",
  "challenge.completed",
  "pet.evolved",
  "assignment.created",
  "assignment.completed",
  "assignment.rejected",
  "webhook.disabled",
] as const satisfies readonly EventType[];

/** What the renderer may need beyond the event: the title of the task it names. */
export interface RenderContext {
  taskTitle: (taskId: string) => string | undefined;
}

const quoted = (title: string | undefined) => (title ? `“${title}”` : "your task");

const MINUTE = 60_000;

function plural(n: number, word: string) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What the queue message allows (message.ts): titles and bodies are cut to fit, never refused. */
const MAX_TITLE = 200;
const MAX_BODY = 1000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function fitted(draft: NotifyDraft): NotifyDraft {
  return { ...draft, title: clip(draft.title, MAX_TITLE), body: clip(draft.body, MAX_BODY) };
}

/** The notification an event makes, or null when it should not interrupt anyone. */
export function draftOf(event: DomainEvent, context: RenderContext): NotifyDraft | null {
  const draft = unfittedDraftOf(event, context);
  return draft ? fitted(draft) : null;
}

function unfittedDraftOf(event: DomainEvent, context: RenderContext): NotifyDraft | null {
  const base = { user_id: event.user_id, key: `event:${event.id}` };
  const withEvent = (data: Record<string, unknown>) => ({
    ...data,
    event_id: event.id,
    event_type: event.type,
  });
  switch (event.type) {
    case "focus.completed": {
      const d = event.data;
      // A session the person ended themselves needs no telling; one the timer ended does.
      if (d.end_reason !== "time_up" && d.end_reason !== "flowtime_cap") return null;
      const minutes = Math.round(d.actual_minutes);
      return {
        ...base,
        kind: "focus",
        title: "Focus session done",
        body: `${plural(minutes, "minute")} of focus${d.task_id ? ` on ${quoted(context.taskTitle(d.task_id))}` : ""}. Time to stretch.`,
        data: withEvent({ session_id: d.session_id, task_id: d.task_id, actual_minutes: d.actual_minutes }),
      };
    }
    case "break.over": {
      const d = event.data;
      if (d.reason !== "time_up") return null;
      return {
        ...base,
        kind: "break",
        title: "Break's over",
        body: "Ready for the next small step? Start a session when you are.",
        data: withEvent({ session_id: d.session_id, break_kind: d.break_kind }),
      };
    }
    case "pet.needs_attention": {
      const d = event.data;
      const hungry = d.fullness <= d.happiness;
      return {
        ...base,
        kind: "pet",
        title: hungry ? "Your pet is hungry" : "Your pet misses you",
        body: hungry
          ? "Finish a micro-step to feed it — even a 2-minute one counts."
          : "Check in and play for a moment; a finished step cheers it up.",
        data: withEvent({ pet_id: d.pet_id, fullness: d.fullness, happiness: d.happiness }),
      };
    }
    case "level.up":
      return {
        ...base,
        kind: "celebration",
        title: `Level ${event.data.level}!`,
        body: `You reached level ${event.data.level} with ${event.data.total_xp} XP. Keep the streak going.`,
        data: withEvent({ level: event.data.level, total_xp: event.data.total_xp }),
      };
    case "achievement.unlocked":
      return {
        ...base,
        kind: "celebration",
        title: `Badge unlocked: ${event.data.name}`,
        body: event.data.description,
        data: withEvent({ badge_id: event.data.badge_id, tier: event.data.tier }),
      };
    case "challenge.completed":
      return {
        ...base,
        kind: "celebration",
        title: "Challenge complete",
        body: `${event.data.title} — +${event.data.xp} XP.`,
        data: withEvent({ challenge_id: event.data.challenge_id, xp: event.data.xp }),
      };
    case "pet.evolved":
      return {
        ...base,
        kind: "celebration",
        title: "Your pet evolved!",
        body: `It reached stage ${event.data.stage} at level ${event.data.level}.`,
        data: withEvent({ pet_id: event.data.pet_id, stage: event.data.stage }),
      };
    case "assignment.created": {
      const d = event.data;
      // Delegating to an agent is the person's own act, and so is DO: only work handed to them with company tells.
      if (d.agent_id !== null || d.delegation_mode === "DO") return null;
      return {
        ...base,
        kind: "assignment",
        title: "A task is yours",
        body: `${quoted(context.taskTitle(d.task_id))} was assigned to you (${d.delegation_mode}).`,
        data: withEvent({ assignment_id: d.assignment_id, task_id: d.task_id }),
      };
    }
    case "assignment.completed":
    case "assignment.rejected": {
      const d = event.data;
      if (d.agent_id === null) return null;
      const done = event.type === "assignment.completed";
      return {
        ...base,
        kind: "assignment",
        title: done ? "Your agent finished a task" : "Your agent handed a task back",
        body: done
          ? `${d.agent_id} completed ${quoted(context.taskTitle(d.task_id))}.`
          : `${d.agent_id} could not do ${quoted(context.taskTitle(d.task_id))}${d.reason ? `: ${d.reason}` : "."}`,
        data: withEvent({ assignment_id: d.assignment_id, task_id: d.task_id, agent_id: d.agent_id }),
      };
    }
    case "webhook.disabled":
      return {
        ...base,
        kind: "integration",
        title: "A webhook was paused",
        body: `Your webhook at ${clip(event.data.host, 200)} kept failing, so deliveries to it are paused: ${event.data.reason} Re-enable it once it answers again.`,
        data: withEvent({ webhook_id: event.data.webhook_id }),
      };
    default:
      return null;
  }
}

/** A task that is due soon, as the reminder job found it. */
export interface DueTask {
  user_id: string;
  task_id: string;
  title: string;
  due_at: string;
  /** The reminder offset this notification stands for (minutes before due). */
  offset_minutes: number;
}

/** The due-soon reminder of a task (keyed by its due time, so moving the due date reminds again). */
export function dueSoonDraft(task: DueTask, now: number): NotifyDraft {
  const left = Math.max(1, Math.round((Date.parse(task.due_at) - now) / MINUTE));
  return fitted({
    user_id: task.user_id,
    key: `due_soon:${task.task_id}:${task.due_at}:${task.offset_minutes}`,
    kind: "due_soon",
    title: `Due soon: ${task.title}`,
    body: `Due in ${left < 60 ? plural(left, "minute") : plural(Math.round(left / 60), "hour")}. One small step now makes it easier.`,
    data: { task_id: task.task_id, due_at: task.due_at, offset_minutes: task.offset_minutes },
  });
}
