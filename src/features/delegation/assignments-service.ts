import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { agents, microSteps, taskAssignments, tasks, users } from "../../db/schema";
import type { AssignmentStatus } from "../../db/schema/delegation";
import type { Principal } from "../../lib/auth/principal";
import { D1Batch, isGuardAbort } from "../../lib/batch";
import { ApiError, notFound } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { recordedEvents, sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import type { Page } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { usernameKey } from "../compat/username-key";
import { completionStatements } from "../tasks/statements";
import { agentVisibleTo } from "./agents-service";
import { completionNoteRefused, completionNoteStatements } from "./notes-service";
import {
  type AssignmentPageOptions,
  agentAssignmentsQuery,
  assignmentByIdQuery,
  assignmentEventFields,
  assignmentPage,
  fromAssignment,
  listAgentAssignments,
  toAssignmentDto,
} from "./queries";
import type { AssignmentDto } from "./schemas";

export type AssignmentMove = "accept" | "start" | "complete" | "reject";

/**
 * The legal moves: pending → accepted → in_progress → completed; pending or accepted → rejected.
 * An agent may also complete straight from pending or accepted (the seed's agent loop lists its work
 * and completes it): the stamps it skipped are filled with the completion time.
 */
export const MOVES: Record<
  AssignmentMove,
  {
    from: AssignmentStatus[];
    to: AssignmentStatus;
    stamp: "acceptedAt" | "startedAt" | "completedAt" | "rejectedAt";
    /** Earlier stamps a shortcut skipped, set to the move's time when still empty. */
    fills?: ("acceptedAt" | "startedAt")[];
    /**
     * States from which only the task's owner assignment may move (the seed's loop: list, then
     * complete); a collaborator still accepts and starts first, so it never finishes the person's task
     * unseen.
     */
    ownerOnlyFrom?: AssignmentStatus[];
    event: "assignment.accepted" | "assignment.started" | "assignment.completed" | "assignment.rejected";
    releases: boolean;
  }
> = {
  accept: {
    from: ["pending"],
    to: "accepted",
    stamp: "acceptedAt",
    event: "assignment.accepted",
    releases: false,
  },
  start: {
    from: ["accepted"],
    to: "in_progress",
    stamp: "startedAt",
    event: "assignment.started",
    releases: false,
  },
  complete: {
    from: ["pending", "accepted", "in_progress"],
    ownerOnlyFrom: ["pending", "accepted"],
    to: "completed",
    stamp: "completedAt",
    fills: ["acceptedAt", "startedAt"],
    event: "assignment.completed",
    releases: true,
  },
  reject: {
    from: ["pending", "accepted"],
    to: "rejected",
    stamp: "rejectedAt",
    event: "assignment.rejected",
    releases: true,
  },
};

/** An assignment's move event data, read from the assignment `a` as the batch just stored it. */
const assignmentMovedData = (type: (typeof MOVES)[AssignmentMove]["event"], assignmentId: string) =>
  sqlData(
    type,
    { ...assignmentEventFields, status: sql`a.status`, reason: sql`a.reason` },
    fromAssignment(assignmentId),
  );

/** True when the event with this id was written in this batch: the marker that our move happened. */
const moved = (eventId: string) => sql`EXISTS (SELECT 1 FROM events e WHERE e.id = ${eventId})`;

export async function moveAssignment(
  db: Database,
  principal: Principal,
  assignmentId: string,
  move: AssignmentMove,
  details: {
    reason?: string | undefined;
    actual_minutes?: number | undefined;
    /** A completion's summary, kept as a note by whoever completes (in the same batch). */
    note?: string | undefined;
  } = {},
): Promise<{ body: AssignmentDto; events: Envelope[] }> {
  const now = Date.now();
  const rule = MOVES[move];
  const { userId, agentId } = principal;
  const event = sqlEvent(rule.event, userId, assignmentMovedData(rule.event, assignmentId), now);
  // The assignments this move may move: the caller's to act on, in a state the move starts from.
  const movable = and(
    eq(taskAssignments.id, assignmentId),
    eq(taskAssignments.userId, userId),
    agentId ? eq(taskAssignments.agentId, agentId) : undefined,
    sql`${taskAssignments.status} IN (${sql.join(
      rule.from.map((s) => sql`${s}`),
      sql`, `,
    )})`,
    rule.ownerOnlyFrom
      ? sql`(${taskAssignments.role} = 'owner' OR ${taskAssignments.status} NOT IN (${sql.join(
          rule.ownerOnlyFrom.map((s) => sql`${s}`),
          sql`, `,
        )}))`
      : undefined,
  );
  const batch = new D1Batch();
  // The note's cap is checked only on an assignment the move would move: one the caller may not see
  // stays a 404, and a completed one the illegal move's 409.
  const note =
    move === "complete" && details.note !== undefined
      ? completionNoteStatements(db, principal, assignmentId, details.note, now, {
          movable: db.select({ id: taskAssignments.id }).from(taskAssignments).where(movable),
          moved: moved(event.id),
        })
      : undefined;
  if (note) batch.add(note.guard);
  batch.add(
    db
      .update(taskAssignments)
      .set({
        status: rule.to,
        ...Object.fromEntries(
          (rule.fills ?? []).map((stamp) => [
            stamp,
            sql`coalesce(${taskAssignments[stamp]}, ${nowIso(now)})`,
          ]),
        ),
        [rule.stamp]: nowIso(now),
        ...(move === "reject" ? { reason: details.reason ?? null } : {}),
        updatedAt: nowIso(now),
      })
      .where(movable),
  );
  const written = batch.add(
    writeEvent(db, event, {
      changed: { table: taskAssignments, id: taskAssignments.id, value: assignmentId },
    }),
  );
  if (note) batch.add(note.insert);
  const assignmentAgent = sql`(SELECT a.agent_id FROM task_assignments a WHERE a.id = ${assignmentId})`;
  const assignmentTask = sql`(SELECT a.task_id FROM task_assignments a WHERE a.id = ${assignmentId})`;
  // Every move shows the agent is alive; finishing or rejecting frees its slot.
  batch.add(
    db
      .update(agents)
      .set({
        lastActiveAt: nowIso(now),
        ...(rule.releases
          ? {
              currentTaskCount: sql`max(0, ${agents.currentTaskCount} - 1)`,
              status: sql`CASE WHEN ${agents.currentTaskCount} - 1 >= ${agents.maxConcurrentTasks} THEN 'busy' ELSE 'idle' END`,
            }
          : {}),
        updatedAt: nowIso(now),
      })
      .where(and(eq(agents.userId, userId), sql`${agents.agentId} = ${assignmentAgent}`, moved(event.id))),
  );
  let taskEvent:
    | ((r: readonly unknown[]) => typeof import("../../db/schema").events.$inferSelect[])
    | undefined;
  if (move === "start") {
    batch.add(
      db
        .update(tasks)
        .set({ status: "in_progress", updatedAt: nowIso(now) })
        .where(and(sql`${tasks.id} = ${assignmentTask}`, eq(tasks.status, "pending"), moved(event.id))),
    );
  }
  if (move === "reject") {
    // The task goes back to be delegated again.
    batch.add(
      db
        .update(tasks)
        .set({ assignedTo: null, updatedAt: nowIso(now) })
        .where(
          and(
            sql`${tasks.id} = ${assignmentTask}`,
            sql`${tasks.assignedTo} = (SELECT a.assignee FROM task_assignments a WHERE a.id = ${assignmentId})`,
            moved(event.id),
          ),
        ),
    );
  }
  if (move === "complete") {
    // The agent did the work: its remaining steps are done, and so is the task.
    batch.add(
      db
        .update(microSteps)
        .set({ status: "completed", completedAt: nowIso(now), updatedAt: nowIso(now) })
        .where(
          and(
            sql`${microSteps.taskId} = ${assignmentTask}`,
            eq(microSteps.status, "pending"),
            moved(event.id),
          ),
        ),
    );
    if (details.actual_minutes !== undefined) {
      batch.add(
        db
          .update(tasks)
          .set({ actualMinutes: details.actual_minutes })
          .where(and(sql`${tasks.id} = ${assignmentTask}`, moved(event.id))),
      );
    }
    const taskId = await taskIdOf(db, userId, assignmentId);
    if (taskId) {
      const { complete, event: completed } = completionStatements(db, userId, taskId, now, {
        whenStepsDone: false,
        guard: moved(event.id),
      });
      batch.add(complete);
      taskEvent = batch.add(completed);
    }
  }
  const read = batch.add(assignmentByIdQuery(db, userId, assignmentId, agentId));
  const results = await batch.run(db).catch((error: unknown) => {
    throw isGuardAbort(error) ? completionNoteRefused() : error;
  });
  const row = read(results)[0];
  if (!row) throw notFound("Assignment");
  const events = recordedEvents(written(results), taskEvent ? taskEvent(results) : []);
  if (written(results).length === 0) {
    throw new ApiError(
      409,
      "illegal_transition",
      `Cannot ${move} an assignment that is ${row.a.status.replace("_", " ")}.`,
    );
  }
  return { body: toAssignmentDto(row), events };
}

async function taskIdOf(db: Database, userId: string, assignmentId: string): Promise<string | undefined> {
  const row = await db
    .select({ taskId: taskAssignments.taskId })
    .from(taskAssignments)
    .where(and(eq(taskAssignments.id, assignmentId), eq(taskAssignments.userId, userId)))
    .get();
  return row?.taskId;
}

/**
 * A page of an agent's assignments. An agent sees only its own list, a person only their agents'
 * lists — and their own, named as the original API's clients name the person in this path: `me`, their
 * id or their username (scripts/dogfood.sh `my-work`). Anything else looks missing, as does an agent
 * that does not exist. Only an empty page costs a second round trip, which tells these apart.
 */
export async function assignmentsOfAgent(
  db: Database,
  principal: Principal,
  agentId: string,
  options: AssignmentPageOptions,
): Promise<Page<AssignmentDto>> {
  if (principal.agentId && principal.agentId !== agentId) throw notFound("Agent");
  const page = await listAgentAssignments(db, principal.userId, agentId, options);
  if (page.items.length > 0) return page;
  const batch = new D1Batch();
  const agent = batch.add(
    db.select({ id: agents.id }).from(agents).where(agentVisibleTo(principal, agentId)),
  );
  const person = principal.agentId ? undefined : batch.add(personNamedQuery(db, principal.userId, agentId));
  const own = person ? batch.add(agentAssignmentsQuery(db, principal.userId, null, options)) : undefined;
  const results = await batch.run(db);
  if (agent(results).length > 0) return page;
  if (person && own && person(results).length > 0) return assignmentPage(own(results), options.limit);
  if (options.afterId) return page;
  throw notFound("Agent");
}

/** The caller's row when `name` is how the original API's clients name the person: me, id or username. */
function personNamedQuery(db: Database, userId: string, name: string) {
  return db
    .select({ id: users.id })
    .from(users)
    .where(
      and(
        eq(users.id, userId),
        isNull(users.deletingAt),
        or(sql`${name} = 'me'`, eq(users.id, name), eq(users.usernameKey, usernameKey(name))),
      ),
    );
}
