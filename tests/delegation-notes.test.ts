import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_NOTE_CHARS, MAX_NOTES_PER_ASSIGNMENT } from "../src/features/delegation/schemas";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { actingThroughApiToken } from "./helpers/auth";
import { type Assignment, delegate, fillNotesToCap, registerAgent } from "./helpers/delegation";
import { eventsOf } from "./helpers/outbox";
import { createTask } from "./helpers/tasks";

interface Note {
  note_id: string;
  assignment_id: string;
  author: string;
  text: string;
  created_at: string;
}

const notesPath = (assignmentId: string) => `/api/v1/delegation/assignments/${assignmentId}/notes`;

const addNote = (token: string, assignmentId: string, text: unknown, headers: Record<string, string> = {}) =>
  call(notesPath(assignmentId), { method: "POST", token, body: { text }, headers });

const notesOf = (token: string, assignmentId: string) =>
  callJson<Note[]>(notesPath(assignmentId), 200, { token });

/** A user, their agent and a task delegated to it. */
async function delegated() {
  const user = await createUser();
  const agent = await registerAgent(user);
  const task = await createTask(user, { title: "Agent work" });
  const { assignment } = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
  return {
    user,
    agentId: agent.agent_id,
    agentToken: agent.token as string,
    assignment: assignment as Assignment,
  };
}

function storedNotes(user: TestUser, assignmentId: string) {
  return env.DB.prepare(
    "SELECT author, text FROM assignment_notes WHERE user_id = ? AND assignment_id = ? ORDER BY id",
  )
    .bind(user.id, assignmentId)
    .all<{ author: string; text: string }>()
    .then((r) => r.results);
}

describe("notes on assignments", () => {
  it("lets the owner and the agent write notes, and both read them oldest first", async () => {
    const { user, agentId, agentToken, assignment } = await delegated();
    const id = assignment.assignment_id;
    const res = await addNote(user.token, id, "  Use the staging database, please.  ");
    expect(res.status).toBe(201);
    const first = await res.json<Note>();
    expect(first).toMatchObject({
      assignment_id: id,
      author: "owner",
      text: "Use the staging database, please.",
    });
    const reply = await addNote(agentToken, id, "Will do; tests are running.");
    expect(reply.status).toBe(201);
    expect(await reply.json<Note>()).toMatchObject({
      author: `agent:${agentId}`,
      text: "Will do; tests are running.",
    });
    const expected = [
      { author: "owner", text: "Use the staging database, please." },
      { author: `agent:${agentId}`, text: "Will do; tests are running." },
    ];
    expect(await notesOf(user.token, id)).toMatchObject(expected);
    expect(await notesOf(agentToken, id)).toMatchObject(expected);
    expect(await storedNotes(user, id)).toEqual(expected);
  });

  it("lets the owner write on their own (DO) assignment and after completion", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "My own work" });
    const { assignment } = await delegate(user, { task_id: task.task_id, delegation_mode: "DO" });
    const id = (assignment as Assignment).assignment_id;
    await callJson(`/api/v1/delegation/assignments/${id}/complete`, 200, {
      method: "POST",
      token: user.token,
    });
    expect((await addNote(user.token, id, "Done, it took longer than planned.")).status).toBe(201);
    expect(await notesOf(user.token, id)).toMatchObject([{ author: "owner" }]);
  });

  it("answers 404 for another account's assignment, and for an agent's assignment to another agent", async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    const stranger = await createUser();
    for (const res of [
      await addNote(stranger.token, id, "Hello"),
      await call(notesPath(id), { token: stranger.token }),
      await addNote(user.token, crypto.randomUUID(), "Hello"),
    ]) {
      expect(res.status).toBe(404);
      expect((await problemOf(res)).detail).toBe("Assignment was not found.");
    }
    const otherAgent = await registerAgent(user);
    expect((await addNote(otherAgent.token as string, id, "Mine now")).status).toBe(404);
    expect((await call(notesPath(id), { token: otherAgent.token as string })).status).toBe(404);
    expect(await storedNotes(user, id)).toEqual([]);
  });

  it("needs agents:write to write and agents:read to read", async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    const reader = await actingThroughApiToken(user, "reader", ["agents:read"]);
    const res = await addNote(reader.token, id, "Sneaky");
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toContain("agents:write");
    expect(await notesOf(reader.token, id)).toEqual([]);
    const writer = await actingThroughApiToken(user, "tasks only", ["tasks:read"]);
    expect((await call(notesPath(id), { token: writer.token })).status).toBe(403);
    const personal = await actingThroughApiToken(user, "script", ["agents:write"]);
    expect(await (await addNote(personal.token, id, "From my script")).json<Note>()).toMatchObject({
      author: "owner",
    });
  });

  it("refuses an empty or too long note with 422", async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    for (const text of ["   ", "x".repeat(MAX_NOTE_CHARS + 1), 42]) {
      const res = await addNote(user.token, id, text);
      expect(res.status).toBe(422);
      expect((await problemOf(res)).errors?.[0]?.field).toBe("text");
    }
    expect((await addNote(user.token, id, ` ${"x".repeat(MAX_NOTE_CHARS)} `)).status).toBe(201);
  });

  it("takes a completion's notes of 5000 characters, as the complete body always did", async () => {
    const { user, agentToken, assignment } = await delegated();
    const id = assignment.assignment_id;
    const long = "x".repeat(5000);
    await callJson(`/api/v1/delegation/assignments/${id}/complete`, 200, {
      method: "POST",
      token: agentToken,
      body: { notes: long },
    });
    expect((await storedNotes(user, id)).map((n) => n.text)).toEqual([long]);
    expect((await addNote(user.token, id, long)).status).toBe(201);
  });

  it(`holds at most ${MAX_NOTES_PER_ASSIGNMENT} notes per assignment (409 too_many_notes)`, async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    await fillNotesToCap(user, id);
    const res = await addNote(user.token, id, "One more");
    expect(res.status).toBe(409);
    const problem = await problemOf(res);
    expect(problem.code).toBe("too_many_notes");
    expect(problem.detail).toContain(`${MAX_NOTES_PER_ASSIGNMENT} notes`);
    expect(await storedNotes(user, id)).toHaveLength(MAX_NOTES_PER_ASSIGNMENT);
    // Another assignment of the same account is not affected.
    const task = await createTask(user, { title: "Other work" });
    const { assignment: other } = await delegate(user, { task_id: task.task_id, delegation_mode: "DO" });
    expect((await addNote(user.token, (other as Assignment).assignment_id, "Fine")).status).toBe(201);
  });

  it('pages oldest first with a Link: rel="next" header', async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    for (const text of ["one", "two", "three"]) await addNote(user.token, id, text);
    const first = await call(`${notesPath(id)}?limit=2`, { token: user.token });
    expect(first.status).toBe(200);
    expect((await first.json<Note[]>()).map((n) => n.text)).toEqual(["one", "two"]);
    const next = /^<([^>]+)>; rel="next"$/.exec(first.headers.get("link") ?? "")?.[1];
    expect(next).toContain("limit=2");
    const second = await call(next as string, { token: user.token });
    expect((await second.json<Note[]>()).map((n) => n.text)).toEqual(["three"]);
    expect(second.headers.get("link")).toBeNull();
    const bad = await call(`${notesPath(id)}?cursor=nonsense`, { token: user.token });
    expect(bad.status).toBe(400);
    await bad.body?.cancel();
  });

  it("answers a retry with the same Idempotency-Key with the same note, stored once", async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    const headers = { "Idempotency-Key": `note-${crypto.randomUUID()}` };
    const first = await addNote(user.token, id, "Only once", headers);
    const again = await addNote(user.token, id, "Only once", headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json<Note>()).toEqual(await first.json<Note>());
    expect(await storedNotes(user, id)).toEqual([{ author: "owner", text: "Only once" }]);
    const reused = await addNote(user.token, id, "Something else", headers);
    expect(reused.status).toBe(422);
    await reused.body?.cancel();
  });

  it('tells an agent named "owner" from the person: its notes are by agent:owner, its keys its own', async () => {
    const user = await createUser();
    const agent = await registerAgent(user, { agent_id: "owner" });
    const task = await createTask(user, { title: "Named to confuse" });
    const { assignment } = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    const id = (assignment as Assignment).assignment_id;
    const headers = { "Idempotency-Key": `same-${crypto.randomUUID()}` };
    const byAgent = await addNote(agent.token as string, id, "Hello", headers);
    expect(byAgent.status).toBe(201);
    const agentNote = await byAgent.json<Note>();
    expect(agentNote.author).toBe("agent:owner");
    const byPerson = await addNote(user.token, id, "Hello", headers);
    expect(byPerson.status).toBe(201);
    expect(byPerson.headers.get("idempotent-replayed")).toBeNull();
    const personNote = await byPerson.json<Note>();
    expect(personNote).toMatchObject({ author: "owner" });
    expect(personNote.note_id).not.toBe(agentNote.note_id);
    expect(await storedNotes(user, id)).toEqual([
      { author: "agent:owner", text: "Hello" },
      { author: "owner", text: "Hello" },
    ]);
  });

  it("records assignment.note_added with the note, once: a replay writes no second event", async () => {
    const { user, agentToken, assignment } = await delegated();
    const id = assignment.assignment_id;
    const long = `${"é".repeat(150)}${"🙂".repeat(100)}`;
    const headers = { "Idempotency-Key": `event-${crypto.randomUUID()}` };
    const note = await (await addNote(agentToken, id, long, headers)).json<Note>();
    const replay = await addNote(agentToken, id, long, headers);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    await replay.body?.cancel();
    const events = await eventsOf(user.id, "assignment.note_added");
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.version).toBe(1);
    expect(event?.data).toEqual({
      note_id: note.note_id,
      assignment_id: id,
      task_id: assignment.task_id,
      author: note.author,
      // 150 one-unit characters, then as many two-unit ones as fit in 200, none cut in two.
      text_preview: `${"é".repeat(150)}${"🙂".repeat(25)}`,
    });
    // A completion's own note rides on assignment.completed.
    await callJson(`/api/v1/delegation/assignments/${id}/complete`, 200, {
      method: "POST",
      token: agentToken,
      body: { notes: "Done" },
    });
    expect(await eventsOf(user.id, "assignment.note_added")).toHaveLength(1);
  });

  it("keeps a completion's notes as a note by whoever completes", async () => {
    const { user, agentId, agentToken, assignment } = await delegated();
    const id = assignment.assignment_id;
    const res = await call(`/api/v1/delegation/assignments/${id}/complete`, {
      method: "POST",
      token: agentToken,
      body: { actual_minutes: 30, notes: " Shipped in PR 12; the flaky test is skipped. " },
    });
    expect(res.status).toBe(200);
    expect(await res.json<Assignment>()).toMatchObject({ status: "completed" });
    expect(await notesOf(user.token, id)).toMatchObject([
      { author: `agent:${agentId}`, text: "Shipped in PR 12; the flaky test is skipped." },
    ]);
    // An illegal move keeps no note: the note rides on the completion.
    const again = await call(`/api/v1/delegation/assignments/${id}/complete`, {
      method: "POST",
      token: agentToken,
      body: { notes: "Twice?" },
    });
    expect(again.status).toBe(409);
    await again.body?.cancel();
    expect(await storedNotes(user, id)).toHaveLength(1);
  });

  it("refuses a completion whose note meets the cap, completing nothing", async () => {
    const { user, agentToken, assignment } = await delegated();
    const id = assignment.assignment_id;
    await fillNotesToCap(user, id);
    const res = await call(`/api/v1/delegation/assignments/${id}/complete`, {
      method: "POST",
      token: agentToken,
      body: { notes: "Summary" },
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("too_many_notes");
    const row = await env.DB.prepare("SELECT status FROM task_assignments WHERE id = ?")
      .bind(id)
      .first<{ status: string }>();
    expect(row?.status).toBe("pending");
  });

  it("answers a full assignment's completion by another agent of the same person with 404, not too_many_notes", async () => {
    const { user, assignment } = await delegated();
    const id = assignment.assignment_id;
    await fillNotesToCap(user, id);
    const otherAgent = await registerAgent(user);
    const res = await call(`/api/v1/delegation/assignments/${id}/complete`, {
      method: "POST",
      token: otherAgent.token as string,
      body: { notes: "Not mine" },
    });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).detail).toBe("Assignment was not found.");
    const row = await env.DB.prepare("SELECT status FROM task_assignments WHERE id = ?")
      .bind(id)
      .first<{ status: string }>();
    expect(row?.status).toBe("pending");
  });

  it("answers completing a completed assignment with notes at the cap with the illegal move's 409", async () => {
    const { user, agentToken, assignment } = await delegated();
    const id = assignment.assignment_id;
    await callJson(`/api/v1/delegation/assignments/${id}/complete`, 200, {
      method: "POST",
      token: agentToken,
    });
    await fillNotesToCap(user, id);
    const res = await call(`/api/v1/delegation/assignments/${id}/complete`, {
      method: "POST",
      token: agentToken,
      body: { notes: "Again" },
    });
    expect(res.status).toBe(409);
    const problem = await problemOf(res);
    expect(problem.code).toBe("illegal_transition");
    expect(problem.detail).toBe("Cannot complete an assignment that is completed.");
  });
});
