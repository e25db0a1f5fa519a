/**
 * BE-15 journeys: a person's day and an agent's day, walked over HTTP and the focus WebSocket the way
 * the apps walk them, asserting what each of them sees at every step. Rows are read only where no
 * route shows them; background work (the events, notifications and webhooks queues) is waited for,
 * never run by hand.
 */
import { env } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CapturedTaskSchema } from "../src/features/capture/schemas";
import type { AssignmentNoteDto } from "../src/features/delegation/schemas";
import type { BadgesDto, LedgerEntrySchema } from "../src/features/gamification/schemas";
import { sweepSilentAgents } from "../src/jobs/agent-sweeper";
import { SCOPES } from "../src/lib/auth/principal";
import { routeOutbound } from "./fakes/outbound";
import { dashboardOf, timeTrackingOf } from "./helpers/analytics";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { apiTokenFor } from "./helpers/auth";
import { freezeClock, nextUtc } from "./helpers/clock";
import { type Agent, type Assignment, agentsOf, delegate, registerAgent } from "./helpers/delegation";
import { openSocket, runTimerAlarm, type SocketMessage, type TestSocket } from "./helpers/focus";
import { profileOf } from "./helpers/gamification";
import { inboxOf, type Notification, unreadOf } from "./helpers/notifications";
import { settle } from "./helpers/outbox";
import { adoptPet, careFor, giveTreats, petOf } from "./helpers/pets";
import { splitTask } from "./helpers/splitting";
import { completeStep, createTask, getTask, type Task } from "./helpers/tasks";

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Queues deliver in the background: a chain of them (event → reward → notification) takes a few seconds. */
const QUEUED = { timeout: 15_000, interval: 100 };

type Captured = z.infer<typeof CapturedTaskSchema>;
type XpGrant = z.infer<typeof LedgerEntrySchema>;
type Badges = BadgesDto;
type Note = AssignmentNoteDto;

/** What the focus socket carries: timer states, acks, and notifications as they reach the inbox. */
interface LiveMessage extends SocketMessage {
  notification?: Notification;
}

const sockets: TestSocket<LiveMessage>[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  vi.restoreAllMocks();
});

/** Resolves with the first message on the socket that matches, waiting for it to arrive. */
async function seen(
  socket: TestSocket<LiveMessage>,
  what: string,
  matches: (m: LiveMessage) => boolean,
): Promise<LiveMessage> {
  return vi.waitFor(() => {
    const found = socket.messages.find(matches);
    if (!found) throw new Error(`the socket has not shown ${what}: ${JSON.stringify(socket.messages)}`);
    return found;
  }, QUEUED);
}

/** A delivery the receiver accepted: its signature verified with the endpoint's secret on arrival. */
interface Verified {
  webhookId: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * The user's own webhook receiver at https://<host>/hook: it checks every delivery's Standard Webhooks
 * signature with the secret the API gave (at the moment it arrives, as a real receiver does) and
 * answers 401 to anything that does not verify.
 */
function webhookReceiver(host: string) {
  const endpoint = { secret: "", verified: [] as Verified[], refused: [] as string[] };
  routeOutbound(host, async (request) => {
    const body = await request.text();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    try {
      const payload = new Webhook(endpoint.secret).verify(body, headers) as {
        type: string;
        data: Record<string, unknown>;
      };
      endpoint.verified.push({ webhookId: headers["webhook-id"] ?? "", ...payload });
      return new Response("thanks", { status: 200 });
    } catch (error) {
      endpoint.refused.push(String(error));
      return new Response("bad signature", { status: 401 });
    }
  });
  return endpoint;
}

/**
 * Waits until every event of the user's so far is handled and every delivery to the webhook has
 * succeeded: a signature is checked against the receiver's clock, so the test's clock jumps only when
 * nothing is on its way.
 */
async function nothingInFlight(user: TestUser, webhookId: string): Promise<void> {
  await settle(user.id);
  await vi.waitFor(async () => {
    const deliveries = await callJson<{ status: string }[]>(`/api/v1/webhooks/${webhookId}/deliveries`, 200, {
      token: user.token,
    });
    expect(deliveries.map((d) => d.status).filter((status) => status !== "succeeded")).toEqual([]);
  }, QUEUED);
}

/** Workers AI is unreachable (it is remote-only): whatever asks it fails at once. */
function workersAiIsDown() {
  const ai = env.AI;
  if (!ai) throw new Error("the AI binding is missing");
  return vi.spyOn(ai, "run").mockRejectedValue(new Error("Workers AI is unreachable"));
}

/** A person acting through an API token with what their login holds: it outlives the hours the clock moves. */
async function personWithApiToken(timezone: string): Promise<TestUser> {
  const person = await createUser({ timezone });
  const everyday = SCOPES.filter((scope) => scope !== "admin");
  return { ...person, token: (await apiTokenFor(person, [...everyday])).token };
}

describe("a person's day", () => {
  it("capture → split → focus on it → finish the steps → XP, a level, a badge, an evolved pet, notifications, a webhook, analytics", async () => {
    // 10:00 UTC on a day to come, so the whole morning is one local day with no morning/night badges.
    const clock = freezeClock(nextUtc("10:00"));
    const user = await personWithApiToken("UTC");

    // Before the day starts: a companion, and a webhook to the person's own automation.
    const pet = await adoptPet(user, { species: "fox", name: "Sorrel" });
    expect(pet).toMatchObject({ level: 1, evolution_stage: 1, treats: 0 });
    const receiver = webhookReceiver("zaps.journey.fake.test");
    const hook = await callJson<{ webhook_id: string; secret: string }>("/api/v1/webhooks", 201, {
      token: user.token,
      body: {
        url: "https://zaps.journey.fake.test/hook",
        event_types: ["task.completed", "level.up", "achievement.unlocked", "pet.evolved"],
      },
    });
    expect(hook.secret).toMatch(/^whsec_/);
    receiver.secret = hook.secret;

    // 1. Capture one line: a task with its priority, tag, estimate and due time parsed.
    const captured = await callJson<Captured>("/api/v1/capture", 201, {
      token: user.token,
      body: { text: "write the quarterly report for Dana tomorrow 9am !high #work ~60m" },
    });
    expect(captured).toMatchObject({
      title: "write the quarterly report for Dana",
      priority: "high",
      tags: ["work"],
      estimated_minutes: 60,
      status: "pending",
      category: "Work",
      capture: { due_text: "tomorrow 9am" },
    });
    expect(Date.parse(captured.due_at ?? "")).toBe(clock.now() + 23 * HOUR);
    const taskId = captured.task_id;

    // 2. Split it into micro-steps. Workers AI is down: the local splitter answers, and the steps are put on the task.
    const ai = workersAiIsDown();
    const split = await splitTask(user, taskId, {
      apply: true,
      energy_level: "medium",
      preferred_step_count: 6,
    });
    expect(split).toMatchObject({
      task_id: taskId,
      split_method: "local",
      scope: "MULTI",
      category: "Work",
      applied: true,
      metadata: { ai_provider: "local", llm_used: false },
    });
    expect(ai).toHaveBeenCalled();
    const steps = (await getTask(user, taskId)).micro_steps ?? [];
    expect(steps.map((s) => s.description)).toEqual(split.suggested_steps.map((s) => s.description));
    expect(steps).toHaveLength(6);
    for (const step of steps) {
      expect(step.status).toBe("pending");
      expect(step.estimated_minutes).toBeGreaterThanOrEqual(1);
      expect(step.estimated_minutes).toBeLessThanOrEqual(10);
    }

    // 3. Open the focus socket (as the phone does) and start a deep-work session on the task from it.
    const socket = await openSocket<LiveMessage>({ token: user.token });
    sockets.push(socket);
    expect((await socket.waitFor(1))[0]).toMatchObject({ type: "hello", state: { phase: "idle" } });
    socket.ws.send(
      JSON.stringify({
        type: "action",
        action: "start",
        kind: "deep_work",
        task_id: taskId,
        request_id: "start-1",
      }),
    );
    const started = await seen(socket, "the session starting", (m) => m.event === "started");
    expect(started.state).toMatchObject({
      phase: "work",
      status: "running",
      session: { kind: "deep_work", planned_minutes: 50, task_id: taskId },
    });
    expect(await seen(socket, "the ack", (m) => m.type === "ack")).toMatchObject({
      request_id: "start-1",
      seq: started.seq,
    });

    // 4. Do the steps, one every four minutes: the task moves to in progress, then completes with its last step.
    let task: Task | undefined;
    for (const [i, step] of steps.entries()) {
      clock.tick(4 * MIN);
      task = await completeStep(user, taskId, step.step_id);
      expect(task.progress).toMatchObject({ completed_steps: i + 1, total_steps: 6 });
      expect(task.status).toBe(i < steps.length - 1 ? "in_progress" : "completed");
    }
    expect(task?.progress.percent).toBe(100);
    expect(task?.completed_at).toBe(new Date(clock.now()).toISOString());
    // The receiver hears of the finished task; the clock jumps only once nothing is on its way to it.
    await vi.waitFor(() => expect(receiver.verified.map((d) => d.type)).toContain("task.completed"), QUEUED);
    await nothingInFlight(user, hook.webhook_id);

    // 5. The deep-work session runs out: the timer tells the socket, with nobody calling the API.
    const endsAt = Date.parse(started.state?.session?.ends_at ?? "");
    clock.tick(endsAt - clock.now());
    expect(await runTimerAlarm(user)).toBe(true);
    const over = await seen(socket, "the work ending", (m) => m.event === "work_over");
    expect(over.state).toMatchObject({
      phase: "break",
      last_session: {
        kind: "deep_work",
        completed: true,
        end_reason: "time_up",
        actual_minutes: 50,
        task_id: taskId,
      },
    });
    const sessionId = over.state?.last_session?.session_id ?? "";

    // 6. XP for every step, the task and the session — each once, by the product's formulas — and level 2.
    const work = await vi.waitFor(async () => {
      const ledger = await callJson<XpGrant[]>("/api/v1/gamification/xp?limit=100", 200, {
        token: user.token,
      });
      const earned = ledger.filter((g) => ["step", "task", "focus"].includes(g.source));
      expect(earned.map((g) => g.source_key)).toContain(`focus:${sessionId}`);
      return earned;
    }, QUEUED);
    const grant = (key: string) => work.filter((g) => g.source_key === key).map((g) => g.amount);
    for (const step of steps) {
      expect(grant(`step:${step.step_id}`)).toEqual([10 + 5 + Math.floor(step.estimated_minutes / 5)]);
    }
    expect(grant(`task:${taskId}`)).toEqual([20 + 2 * 5 + 60 / 10]);
    expect(grant(`focus:${sessionId}`)).toEqual([5 + 50 / 2]);
    expect(work).toHaveLength(steps.length + 2);
    const workXp = work.reduce((sum, g) => sum + g.amount, 0);
    expect(workXp).toBeGreaterThanOrEqual(150);
    const profile = await profileOf(user);
    const ledger = await callJson<XpGrant[]>("/api/v1/gamification/xp?limit=100", 200, { token: user.token });
    expect(profile).toMatchObject({ level: 2, total_xp: ledger.reduce((sum, g) => sum + g.amount, 0) });
    expect(profile.themes.map((t) => t.id)).toContain("sunrise");

    // 7. A badge: fifty minutes of unbroken focus is a marathon.
    const badges = await vi.waitFor(async () => {
      const mine = await callJson<Badges>("/api/v1/gamification/badges", 200, { token: user.token });
      expect(mine.badges.find((b) => b.id === "marathon_bronze")?.unlocked_at).not.toBeNull();
      return mine;
    }, QUEUED);
    expect(badges.badges.find((b) => b.id === "marathon_bronze")).toMatchObject({ name: "Marathon Runner" });

    // 8. The pet got treats worth exactly what the work earned; fed them, it grows. Fed a week's worth more
    //    (the treats the events queue gives for finished work, given here directly), it evolves to a teen.
    const fed = await vi.waitFor(async () => {
      const now = await petOf(user);
      expect(now.treats).toBe(workXp);
      return now;
    }, QUEUED);
    const snack = await careFor(user, "feed", { xp_amount: fed.treats });
    expect(snack).toMatchObject({ leveled_up: true, evolved: false, pet: { level: 2, treats: 0 } });
    await giveTreats(user, 1500, "task");
    const meal = await careFor(user, "feed", { xp_amount: 1500 });
    expect(meal).toMatchObject({ evolved: true, pet: { evolution_stage: 2 } });
    expect(meal.pet.level).toBeGreaterThanOrEqual(5);

    // 9. Notifications: each celebration reaches the open socket at once, and the inbox keeps them unread.
    const title = "“write the quarterly report for Dana”";
    const expected = [
      "focus: Focus session done",
      "celebration: Level 2!",
      "celebration: Badge unlocked: Marathon Runner",
      "celebration: Your pet evolved!",
    ];
    const inbox = await vi.waitFor(async () => {
      const list = await inboxOf(user);
      expect(list.map((n) => `${n.kind}: ${n.title}`)).toEqual(expect.arrayContaining(expected));
      return list;
    }, QUEUED);
    expect(inbox.find((n) => n.kind === "focus")?.body).toBe(
      `50 minutes of focus on ${title}. Time to stretch.`,
    );
    expect(inbox.find((n) => n.title === "Your pet evolved!")?.body).toContain("stage 2");
    expect(await unreadOf(user)).toBe(inbox.length);
    for (const wanted of [
      "Focus session done",
      "Level 2!",
      "Badge unlocked: Marathon Runner",
      "Your pet evolved!",
    ]) {
      await seen(socket, wanted, (m) => m.type === "notification" && m.notification?.title === wanted);
    }

    // 10. The person's webhook got the day's milestones, each signed with the secret the API gave.
    await vi.waitFor(() => {
      const types = receiver.verified.map((d) => d.type);
      expect(types).toEqual(expect.arrayContaining(["task.completed", "level.up", "pet.evolved"]));
      expect(
        receiver.verified.some(
          (d) => d.type === "achievement.unlocked" && d.data.badge_id === "marathon_bronze",
        ),
      ).toBe(true);
    }, QUEUED);
    expect(receiver.verified.find((d) => d.type === "task.completed")?.data).toMatchObject({
      task_id: taskId,
      completed_steps: 6,
    });
    expect(receiver.verified.find((d) => d.type === "level.up")?.data).toMatchObject({ level: 2 });
    expect(receiver.verified.find((d) => d.type === "pet.evolved")?.data).toMatchObject({ stage: 2 });
    expect(receiver.refused).toEqual([]);
    const deliveries = await callJson<{ delivery_id: string; event_type: string; status: string }[]>(
      `/api/v1/webhooks/${hook.webhook_id}/deliveries`,
      200,
      { token: user.token },
    );
    const levelUp = deliveries.find((d) => d.event_type === "level.up");
    expect(levelUp?.status).toBe("succeeded");
    expect(receiver.verified.map((d) => d.webhookId)).toContain(levelUp?.delivery_id);

    // 11. Analytics shows the day: one task, six steps, fifty focused minutes on it, and the XP.
    const dashboard = await vi.waitFor(async () => {
      const today = (await dashboardOf(user)).today;
      expect(today).toMatchObject({ tasks_completed: 1, steps_completed: 6, focus_completed: 1 });
      return today;
    }, QUEUED);
    expect(dashboard).toMatchObject({
      tasks_created: 1,
      focus_sessions: 1,
      focus_minutes: 50,
      xp: (await profileOf(user)).total_xp,
    });
    const tracked = await timeTrackingOf(user);
    expect(tracked.tasks).toMatchObject([
      {
        task_id: taskId,
        category: "Work",
        estimated_minutes: 60,
        steps_completed: 6,
        focus_minutes: 50,
        focus_sessions: 1,
        actual_minutes: 50,
        actual_source: "focus",
      },
    ]);
  });
});

describe("an agent's day", () => {
  it("registered by its person, it takes an assignment, works it with notes and a heartbeat, and the person sees it done", async () => {
    const clock = freezeClock();
    const user = await personWithApiToken("UTC");

    // 1. The person registers an agent; it gets its own token, once, and is online with room for work.
    const agent = await registerAgent(user, {
      agent_id: "release-notes-bot",
      agent_type: "writer",
      capabilities: ["markdown"],
      max_concurrent_tasks: 2,
    });
    expect(agent).toMatchObject({ token_issued: true, status: "idle", is_available: true });
    const agentToken = agent.token ?? "";
    expect(agentToken).toMatch(/^pap_/);
    const agentPath = `/api/v1/delegation/agents/${agent.agent_id}`;

    // 2. The person hands a task over: DELEGATE picks the writer, which now holds one task of the two it takes.
    const task = await createTask(user, {
      title: "Draft the release notes",
      priority: "medium",
      estimated_minutes: 30,
    });
    const personal = await createTask(user, { title: "Call the dentist" });
    const handed = await delegate(user, {
      task_id: task.task_id,
      delegation_mode: "DELEGATE",
      prefer_agent_type: "writer",
    });
    expect(handed.assigned_agent).toMatchObject({
      agent_id: agent.agent_id,
      current_task_count: 1,
      status: "idle",
      is_available: true,
    });
    expect(handed.assignment).toMatchObject({ status: "pending", assignee: `agent:${agent.agent_id}` });
    const assignmentId = handed.assignment?.assignment_id ?? "";
    const assignmentPath = `/api/v1/delegation/assignments/${assignmentId}`;

    // 3. The agent, with its own token, sees its assignment and reads the task — and nothing else of the person's.
    const mine = await callJson<Assignment[]>(`/api/v1/delegation/assignments/agent/${agent.agent_id}`, 200, {
      token: agentToken,
    });
    expect(mine).toMatchObject([
      {
        assignment_id: assignmentId,
        task_id: task.task_id,
        status: "pending",
        task: { title: "Draft the release notes", estimated_minutes: 30 },
      },
    ]);
    expect((await getTask({ ...user, token: agentToken }, task.task_id)).title).toBe(
      "Draft the release notes",
    );
    const prying = await call(`/api/v1/tasks/${personal.task_id}`, { token: agentToken });
    expect(prying.status).toBe(404);
    await prying.body?.cancel();
    const delegating = await call("/api/v1/delegation/delegate", {
      token: agentToken,
      body: { task_id: personal.task_id, delegation_mode: "DELEGATE" },
    });
    expect(delegating.status).toBe(403);
    expect((await problemOf(delegating)).code).toBe("forbidden");

    // 4. It accepts and starts; the person's task is now being worked on.
    const accepted = await callJson<Assignment>(`${assignmentPath}/accept`, 200, {
      method: "POST",
      token: agentToken,
      body: {},
    });
    expect(accepted).toMatchObject({ status: "accepted", accepted_at: new Date(clock.now()).toISOString() });
    const begun = await callJson<Assignment>(`${assignmentPath}/start`, 200, {
      method: "POST",
      token: agentToken,
      body: {},
    });
    expect(begun).toMatchObject({ status: "in_progress", started_at: new Date(clock.now()).toISOString() });

    // 5. A progress note, written by the agent and signed as the agent.
    const progress = await callJson<Note>(`${assignmentPath}/notes`, 201, {
      token: agentToken,
      body: { text: "  Outline done; collecting the fixed bugs from the tracker.  " },
    });
    expect(progress).toMatchObject({
      author: `agent:${agent.agent_id}`,
      text: "Outline done; collecting the fixed bugs from the tracker.",
    });

    // 6. It goes quiet for twenty minutes: the offline sweep marks it offline (its started work stays
    //    its own), and its heartbeat brings it back online.
    clock.tick(20 * MIN);
    await sweepSilentAgents(env);
    expect((await agentsOf(user)).find((a) => a.agent_id === agent.agent_id)).toMatchObject({
      status: "offline",
      is_available: false,
      current_task_count: 1,
    });
    const beat = await callJson<Agent>(`${agentPath}/heartbeat`, 200, { method: "POST", token: agentToken });
    expect(beat).toMatchObject({ status: "idle", current_task_count: 1, is_available: true });
    expect(beat.last_active_at).toBe(new Date(clock.now()).toISOString());
    const stillMine = await callJson<Assignment[]>(
      `/api/v1/delegation/assignments/agent/${agent.agent_id}`,
      200,
      {
        token: agentToken,
      },
    );
    expect(stillMine.map((a) => [a.assignment_id, a.status])).toEqual([[assignmentId, "in_progress"]]);

    // 7. It completes the work with a summary and the minutes it took.
    clock.tick(5 * MIN);
    const done = await callJson<Assignment>(`${assignmentPath}/complete`, 200, {
      method: "POST",
      token: agentToken,
      body: { actual_minutes: 25, notes: "Release notes drafted in docs/RELEASE.md, ready for review." },
    });
    expect(done).toMatchObject({ status: "completed", completed_at: new Date(clock.now()).toISOString() });

    // 8. The person sees the task done by the agent, both notes in order, and the agent free again.
    const finished = await getTask(user, task.task_id);
    expect(finished).toMatchObject({
      status: "completed",
      delegation_mode: "DELEGATE",
      assigned_to: `agent:${agent.agent_id}`,
      actual_minutes: 25,
    });
    const notes = await callJson<Note[]>(`${assignmentPath}/notes`, 200, { token: user.token });
    expect(notes.map((n) => [n.author, n.text])).toEqual([
      [`agent:${agent.agent_id}`, "Outline done; collecting the fixed bugs from the tracker."],
      [`agent:${agent.agent_id}`, "Release notes drafted in docs/RELEASE.md, ready for review."],
    ]);
    expect((await agentsOf(user)).find((a) => a.agent_id === agent.agent_id)).toMatchObject({
      status: "idle",
      current_task_count: 0,
      is_available: true,
    });

    // 9. …and is told so in the inbox.
    const told = await vi.waitFor(async () => {
      const list = await inboxOf(user, "?kind=assignment");
      expect(list.map((n) => n.title)).toContain("Your agent finished a task");
      return list;
    }, QUEUED);
    expect(told.find((n) => n.title === "Your agent finished a task")).toMatchObject({
      body: `${agent.agent_id} completed “Draft the release notes”.`,
      data: { assignment_id: assignmentId, task_id: task.task_id, agent_id: agent.agent_id },
    });
  });
});
