import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ApiTokenDto } from "../src/features/auth/schemas";
import type { ProblemBody } from "../src/lib/errors";
import { newId } from "../src/lib/ids";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import {
  type Agent,
  type Assignment,
  agentsOf,
  assignmentsOf,
  delegate,
  type RegisteredAgent,
  registerAgent,
} from "./helpers/delegation";
import { type FocusSession, type FocusState, focusAction, focusStateOf, startFocus } from "./helpers/focus";
import { filesOf, getImport, preview } from "./helpers/imports";
import { inboxOf, type Notification, notify } from "./helpers/notifications";
import { openApiDocument } from "./helpers/openapi";
import { fillPath, type PathIds } from "./helpers/path-ids";
import { adoptPet, interactionsOf, type Pet, petOf } from "./helpers/pets";
import { createRoom, roomOf } from "./helpers/rooms";
import { completeStep, createTask, getTask, type Task } from "./helpers/tasks";
import { createTemplate, type Template } from "./helpers/templates";

/**
 * The cross-user matrix: user B tries every route that takes an id with user A's ids. The routes
 * come from the served OpenAPI document, so a new id route is exercised (or fails loudly for want
 * of an id or a body recipe) without anyone remembering to add it here.
 */

interface IdRoute {
  method: string;
  path: string;
  hasBody: boolean;
}

/**
 * The ids a path or body can name: one task and its two steps, one API token, one agent and its
 * assignment, the running focus session, the user and their pet, and a private template (a public
 * one is readable by all, and answers 403 to changes).
 */
interface Ids extends PathIds {
  other_step_id: string;
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/** How many id routes the API has today; the matrix must never silently cover fewer. */
const MIN_ID_ROUTES = 64;

/**
 * Id routes over global resources that only administrators touch (no user owns a bonus XP window):
 * outside the ownership matrix, and tested on their own below.
 */
const ADMIN_ID_ROUTES = new Set(["DELETE /api/v1/gamification/enhanced/bonus-events/{event_id}"]);

/** Id routes over the public event catalog: no user owns an event type (tests/event-contract.test.ts). */
const CATALOG_ID_ROUTES = new Set([
  "GET /api/v1/event-types/{type}",
  // Samples name a catalog type and answer only the caller's own events (tests/rest-hooks.test.ts).
  "GET /api/v1/hooks/samples/{event}",
]);

/**
 * Capability URLs: the secret in the path is the credential, whoever sends it (calendar apps send no
 * bearer), so there is no "another user's id" to try. A wrong, rotated or revoked one is 404 for
 * everybody, and nobody but the owner can rotate or revoke it (tests/calendar.test.ts).
 */
const CAPABILITY_ROUTES = new Set([
  "GET /api/v1/calendar/{token}.ics",
  // A share's page and card: its code is the link a person handed out, readable by anyone holding it;
  // only its owner can revoke it (tests/social.test.ts).
  "GET /s/{code}",
  "GET /s/{code}.png",
  // A signed download link: its signature is the credential, bound to the export's id (tests/export.test.ts).
  "GET /api/v1/export/{export_id}/download",
]);

/**
 * Public profiles, by handle: a name their owner made public on purpose, not an id of anything they
 * own; hidden or unknown handles are 404 for everybody (tests/social.test.ts).
 */
const PUBLIC_NAME_ROUTES = new Set([
  "GET /api/v1/social/profiles/{handle}",
  "GET /u/{handle}",
  "GET /u/{handle}.png",
]);

const doc = await openApiDocument();
// Deletes go last: were one wrongly allowed, it would hide what the routes after it do.
const idRoutes: IdRoute[] = Object.entries(doc.paths)
  .filter(([path]) => path.includes("{"))
  .flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        hasBody: operation.requestBody !== undefined,
      })),
  )
  .filter((route) => !ADMIN_ID_ROUTES.has(`${route.method} ${route.path}`))
  .filter((route) => !CATALOG_ID_ROUTES.has(`${route.method} ${route.path}`))
  .filter((route) => !CAPABILITY_ROUTES.has(`${route.method} ${route.path}`))
  .filter((route) => !PUBLIC_NAME_ROUTES.has(`${route.method} ${route.path}`))
  .sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
const routeName = (route: IdRoute) => `${route.method} ${route.path}`;

/** A plausible, valid body per id route that takes one; a new body route without a recipe fails. */
const BODY_RECIPES: Record<string, (ids: Ids) => unknown> = {
  "PATCH /api/v1/tasks/{task_id}": () => ({ title: "hacked" }),
  "POST /api/v1/tasks/{task_id}/steps": () => ({ description: "x" }),
  "PUT /api/v1/tasks/{task_id}/steps/order": (ids) => ({ step_ids: [ids.other_step_id, ids.step_id] }),
  "PATCH /api/v1/tasks/{task_id}/steps/{step_id}": () => ({ description: "hacked" }),
  "POST /api/v1/delegation/assignments/{assignment_id}/reject": () => ({ reason: "x" }),
  "POST /api/v1/delegation/assignments/{assignment_id}/complete": () => ({ actual_minutes: 5 }),
  "POST /api/v1/delegation/assignments/{assignment_id}/notes": () => ({ text: "hacked" }),
  "POST /api/v1/focus/sessions/{session_id}/end": () => ({ completed: false }),
  "PUT /api/v1/focus/sessions/{session_id}": () => ({ completed: true }),
  "POST /api/v1/tasks/{task_id}/steps/{step_id}/complete": () => ({ completed_at: new Date().toISOString() }),
  "PATCH /api/v1/pets/{user_id}": () => ({ name: "hacked" }),
  "POST /api/v1/pets/{user_id}/feed": () => ({ xp_amount: 1 }),
  "POST /api/v1/pets/generate/{user_id}/personality": () => ({ pattern: "irregular" }),
  "POST /api/v1/tasks/{task_id}/save-as-template": () => ({ name: "hacked", category: "Work" }),
  "PATCH /api/v1/templates/{template_id}": () => ({ name: "hacked", is_public: true }),
  "PUT /api/v1/templates/{template_id}/steps": () => ({ steps: [{ description: "hacked" }] }),
  "POST /api/v1/templates/{template_id}/apply": () => ({ title: "hacked" }),
  "PATCH /api/v1/task-templates/{template_id}": () => ({ name: "hacked", is_public: true }),
  "PUT /api/v1/task-templates/{template_id}/steps": () => ({ steps: [{ description: "hacked" }] }),
  "POST /api/v1/task-templates/{template_id}/apply": () => ({ title: "hacked" }),
  "POST /api/v1/templates/{template_id}/share": () => ({ listed: true }),
  "POST /api/v1/task-templates/{template_id}/share": () => ({ listed: true }),
  "POST /api/v1/tasks/split/{task_id}": () => ({ apply: true, splitter: "local" }),
  "POST /api/v1/tasks/{task_id}/split": () => ({ apply: true, splitter: "local" }),
  "PUT /api/v1/users/{user_id}/onboarding": () => ({ work_preference: "remote" }),
  "POST /api/v1/users/{user_id}/onboarding/complete": () => ({ completed: true }),
  "PUT /api/v1/api/v1/users/{user_id}/onboarding": () => ({ work_preference: "remote" }),
  "POST /api/v1/api/v1/users/{user_id}/onboarding/complete": () => ({ completed: true }),
  "POST /api/v1/tasks/{task_id}/steps/{step_id}/split": () => ({ apply: true, splitter: "local" }),
  "POST /api/v1/tasks/{task_id}/steps/{step_id}/feedback": () => ({ rating: "too_large" }),
  "PATCH /api/v1/webhooks/{webhook_id}": () => ({ url: "https://attacker.example.com/steal", enabled: true }),
  "POST /api/v1/import/{import_id}/commit": () => ({ mode: "replace" }),
  "PATCH /api/v1/micro-steps/{step_id}/complete": () => ({}),
  "PATCH /api/v1/rooms/{room_id}/me": () => ({ display_name: "hacked", share_task: true }),
};

function requestFor(route: IdRoute, ids: Ids) {
  const recipe = BODY_RECIPES[routeName(route)];
  if (route.hasBody && !recipe) {
    throw new Error(`No body recipe for ${routeName(route)}: add one to BODY_RECIPES`);
  }
  return {
    path: fillPath(route.path, ids),
    method: route.method,
    body: recipe ? recipe(ids) : undefined,
  };
}

/** Sends a request made by requestFor with this bearer. */
const sendAs = (token: string, request: ReturnType<typeof requestFor>) =>
  call(request.path, { method: request.method, body: request.body, token });

/** Placeholders for the ids a request named, so two problems can be compared apart from them. */
const placeholdersFor = (ids: Ids): Record<string, string> => ({
  [ids.task_id]: "{task_id}",
  [ids.step_id]: "{step_id}",
  [ids.other_step_id]: "{step_id_2}",
  [ids.token_id]: "{token_id}",
  [ids.agent_id]: "{agent_id}",
  [ids.assignment_id]: "{assignment_id}",
  [ids.session_id]: "{session_id}",
  [ids.user_id]: "{user_id}",
  [ids.pet_id]: "{pet_id}",
  [ids.template_id]: "{template_id}",
  [ids.notification_id]: "{notification_id}",
  [ids.device_id]: "{device_id}",
  [ids.webhook_id]: "{webhook_id}",
  [ids.delivery_id]: "{delivery_id}",
  [ids.hook_id]: "{hook_id}",
  [ids.share_id]: "{share_id}",
  [ids.import_id]: "{import_id}",
  [ids.export_id]: "{export_id}",
  [ids.room_id]: "{room_id}",
});

/** A problem with everything that names the request itself (ids, request id) taken out. */
function normalized(problem: ProblemBody, placeholders: Record<string, string>): ProblemBody {
  const { request_id: _requestId, ...rest } = problem;
  const scrub = (text: string) =>
    Object.entries(placeholders).reduce((out, [id, placeholder]) => out.replaceAll(id, placeholder), text);
  return {
    ...rest,
    detail: scrub(rest.detail),
    ...(rest.instance !== undefined ? { instance: scrub(rest.instance) } : {}),
  };
}

const A_TITLE = "Alice secret surprise party plan";
const A_SECOND_TITLE = "Alice other private errand";
const A_STEPS = ["Book the secret venue", "Email the secret guest list"];
const A_TOKEN_NAME = "alice-private-reader";
const A_AGENT_TYPE = "alice-secret-agent-type";
const A_CAPABILITY = "alice-secret-capability";
const A_FOCUS_NOTE = "alice secret focus interruption";
const A_PET_NAME = "Alicesecretpetname";
const A_TEMPLATE_NAME = "Alice secret morning routine";
const A_TEMPLATE_STEP = "Feed the secret goldfish";
const A_NOTIFICATION = "Alice secret reminder about the party";
const A_DEVICE_TOKEN = "ExponentPushToken[alice-secret-device]";
const A_WEBHOOK_URL = "https://alice-secret-hooks.example.com/private";
const A_HOOK_URL = "https://hooks.zapier.example.com/alice-secret-hook";
const A_IMPORTED_TITLE = "Alice secret imported chore";
const A_ROOM_NAME = "Alice secret study room";
const A_SECRETS = [
  A_TITLE,
  A_SECOND_TITLE,
  ...A_STEPS,
  A_TOKEN_NAME,
  A_AGENT_TYPE,
  A_CAPABILITY,
  A_FOCUS_NOTE,
  A_PET_NAME,
  A_TEMPLATE_NAME,
  A_TEMPLATE_STEP,
  A_NOTIFICATION,
  A_DEVICE_TOKEN,
  A_WEBHOOK_URL,
  A_HOOK_URL,
  A_IMPORTED_TITLE,
  A_ROOM_NAME,
];

/**
 * What a response to a request with the owner's ids must never contain: the owner's texts, and
 * every id of the owner's that the request itself did not name (say, the assignment id in an
 * answer about the agent).
 */
function secretsFor(request: { path: string; body: unknown }): string[] {
  const named = `${request.path} ${JSON.stringify(request.body ?? null)}`;
  const ids = [
    aliceIds.task_id,
    aliceIds.step_id,
    aliceIds.other_step_id,
    aliceIds.token_id,
    aliceIds.agent_id,
    aliceIds.assignment_id,
    aliceIds.session_id,
    aliceEndedSessionId,
    aliceSecondTask.task_id,
    aliceIds.pet_id,
    aliceIds.template_id,
    aliceIds.notification_id,
    aliceIds.device_id,
    aliceIds.webhook_id,
    aliceIds.share_id,
    aliceIds.import_id,
    aliceIds.export_id,
    aliceIds.room_id,
  ];
  return [...A_SECRETS, ...ids.filter((id) => !named.includes(id))];
}

let alice: TestUser;
let bob: TestUser;
let aliceToken: string;
let aliceIds: Ids;
let aliceSecondTask: Task;
let aliceBefore: Task[];
let tokensBefore: ApiTokenDto[];
let aliceAgentsBefore: Agent[];
let aliceFocusBefore: FocusState;
/** A focus session of Alice's that ended (with a secret note); her running one is in aliceIds. */
let aliceEndedSessionId: string;
let aliceAssignmentsBefore: Assignment[];
let alicePetBefore: Pet;
let aliceTemplateBefore: Template;
let aliceInboxBefore: Notification[];
let aliceWebhookSecret: string;
let aliceRoomCode: string;
/** Bob's own agent, and its own token: a second kind of caller that must not reach Alice's ids. */
let bobAgent: RegisteredAgent;
let bobAgentToken: string;
const missingIds: Ids = {
  task_id: newId(),
  step_id: newId(),
  other_step_id: newId(),
  token_id: newId(),
  agent_id: `missing-agent-${crypto.randomUUID()}`,
  assignment_id: newId(),
  session_id: newId(),
  user_id: newId(),
  pet_id: newId(),
  template_id: `missing-template-${crypto.randomUUID()}`,
  notification_id: newId(),
  device_id: newId(),
  webhook_id: newId(),
  delivery_id: `msg_${"0".repeat(32)}`,
  hook_id: newId(),
  share_id: newId(),
  import_id: newId(),
  export_id: newId(),
  room_id: newId(),
};
const exercised = new Set<string>();

const aliceTasks = () => callJson<Task[]>("/api/v1/tasks?include=micro_steps", 200, { token: alice.token });

beforeAll(async () => {
  alice = await createUser();
  bob = await createUser();
  const first = await createTask(alice, {
    title: A_TITLE,
    priority: "high",
    tags: ["private"],
    micro_steps: A_STEPS.map((description) => ({ description })),
  });
  aliceSecondTask = await createTask(alice, { title: A_SECOND_TITLE, depends_on: [first.task_id] });
  const [s1, s2] = first.micro_steps ?? [];
  if (!s1 || !s2) throw new Error("Alice's task was created without its two steps");
  // One completed step, so a wrongly allowed write would visibly change statuses and progress.
  await completeStep(alice, first.task_id, s1.step_id);
  const created = await createApiToken(alice.token, { name: A_TOKEN_NAME, scopes: ["tasks:read"] });
  aliceToken = created.token;
  // Alice's agent takes her first task: a pending assignment that a wrongly allowed move would change.
  const agent = await registerAgent(alice, { agent_type: A_AGENT_TYPE, capabilities: [A_CAPABILITY] });
  const delegated = await delegate(alice, {
    task_id: first.task_id,
    delegation_mode: "DELEGATE",
    prefer_agent_type: A_AGENT_TYPE,
  });
  if (!delegated.assignment || delegated.assigned_agent?.agent_id !== agent.agent_id) {
    throw new Error(`Alice's task was not delegated to her agent: ${JSON.stringify(delegated)}`);
  }
  // Alice focused once (with a secret note) and is focusing on her second task now.
  const ended = await startFocus(alice, { kind: "custom", duration_minutes: 5 });
  await focusAction(alice, "interrupt", { note: A_FOCUS_NOTE });
  await focusAction(alice, "finish", { take_break: false });
  aliceEndedSessionId = ended.session?.session_id ?? "";
  const running = await startFocus(alice, { kind: "pomodoro", task_id: aliceSecondTask.task_id });
  const pet = await adoptPet(alice, { species: "dragon", name: A_PET_NAME });
  const template = await createTemplate(alice, {
    name: A_TEMPLATE_NAME,
    category: "Personal",
    steps: [{ description: A_TEMPLATE_STEP }, { description: "Water the plants" }],
  });
  await notify(alice, { kind: "due_soon", title: A_NOTIFICATION, body: A_NOTIFICATION });
  const [notification] = await inboxOf(alice);
  const device = await callJson<{ device_id: string }>("/api/v1/notifications/devices", 201, {
    token: alice.token,
    body: { expo_push_token: A_DEVICE_TOKEN, platform: "ios" },
  });
  const webhook = await callJson<{ webhook_id: string; secret: string }>("/api/v1/webhooks", 201, {
    token: alice.token,
    body: { url: A_WEBHOOK_URL, event_types: ["*"], description: A_NOTIFICATION },
  });
  aliceWebhookSecret = webhook.secret;
  const delivery = await callJson<{ delivery_id: string }>(
    `/api/v1/webhooks/${webhook.webhook_id}/test`,
    202,
    {
      token: alice.token,
      method: "POST",
    },
  );
  const hook = await callJson<{ id: string }>("/api/v1/hooks", 201, {
    token: alice.token,
    body: { target_url: A_HOOK_URL, event: "task.completed" },
  });
  const shared = await callJson<{ share_id: string }>("/api/v1/social/share", 201, {
    token: alice.token,
    body: { kind: "task", ref_id: first.task_id },
  });
  const imported = await preview(alice, "csv", `Title\n${A_IMPORTED_TITLE}\n`, { title: "Title" });
  const exported = await callJson<{ export_id: string }>("/api/v1/export", 202, {
    token: alice.token,
    body: { format: "json" },
  });
  const room = await createRoom(alice, { name: A_ROOM_NAME, display_name: "Alice secret name" });
  aliceRoomCode = room.code;
  aliceIds = {
    room_id: room.room_id,
    share_id: shared.share_id,
    import_id: imported.import_id,
    export_id: exported.export_id,
    webhook_id: webhook.webhook_id,
    delivery_id: delivery.delivery_id,
    hook_id: hook.id,
    notification_id: notification?.notification_id ?? "",
    device_id: device.device_id,
    task_id: first.task_id,
    step_id: s1.step_id,
    other_step_id: s2.step_id,
    token_id: created.id,
    agent_id: agent.agent_id,
    assignment_id: delegated.assignment.assignment_id,
    session_id: running.session?.session_id ?? "",
    user_id: alice.id,
    pet_id: pet.pet_id,
    template_id: template.template_id,
  };
  bobAgent = await registerAgent(bob);
  if (!bobAgent.token) throw new Error("Bob's agent was registered without its own token");
  bobAgentToken = bobAgent.token;
  aliceBefore = await aliceTasks();
  tokensBefore = await callJson<ApiTokenDto[]>("/api/v1/auth/tokens", 200, { token: alice.token });
  aliceAgentsBefore = await agentsOf(alice);
  aliceFocusBefore = await focusStateOf(alice);
  aliceAssignmentsBefore = await assignmentsOf(alice, agent.agent_id);
  alicePetBefore = await petOf(alice);
  aliceInboxBefore = await inboxOf(alice);
  aliceTemplateBefore = await callJson<Template>(`/api/v1/templates/${template.template_id}`, 200, {
    token: alice.token,
  });
});

describe("the routes that take an id", () => {
  it(`are at least ${MIN_ID_ROUTES}, each with an id to fill and a body recipe where it takes a body`, () => {
    expect(idRoutes.length).toBeGreaterThanOrEqual(MIN_ID_ROUTES);
    for (const route of idRoutes) expect(() => requestFor(route, missingIds)).not.toThrow();
  });
});

describe("another user's ids", () => {
  it.each(idRoutes.map((route) => [routeName(route), route] as const))(
    "%s answers them with a plain 404 that reveals nothing of the owner's data",
    async (_name, route) => {
      const request = requestFor(route, aliceIds);
      const { path, method } = request;
      const res = await sendAs(bob.token, request);
      const text = await res.text();
      exercised.add(routeName(route));
      expect(res.status, `${method} ${path}: ${text}`).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const problem = JSON.parse(text) as ProblemBody;
      expect(problem).toMatchObject({ status: 404, code: "not_found" });
      for (const secret of secretsFor(request)) expect(text).not.toContain(secret);
    },
  );

  it(`were tried on every id route the OpenAPI document lists (at least ${MIN_ID_ROUTES})`, () => {
    expect([...exercised].sort()).toEqual(idRoutes.map(routeName).sort());
    expect(exercised.size).toBeGreaterThanOrEqual(MIN_ID_ROUTES);
  });

  it.each(idRoutes.map((route) => [routeName(route), route] as const))(
    "%s answers them exactly as it answers ids that never existed",
    async (_name, route) => {
      const theirs = requestFor(route, aliceIds);
      const missing = requestFor(route, missingIds);
      const forTheirs = await sendAs(bob.token, theirs);
      const forMissing = await sendAs(bob.token, missing);
      expect(forTheirs.status).toBe(forMissing.status);
      expect(forTheirs.headers.get("content-type")).toBe(forMissing.headers.get("content-type"));
      expect(normalized(await problemOf(forTheirs), placeholdersFor(aliceIds))).toEqual(
        normalized(await problemOf(forMissing), placeholdersFor(missingIds)),
      );
    },
  );

  it("are refused in a new task's depends_on with the same 422 as a missing task", async () => {
    const theirs = await call("/api/v1/tasks", {
      token: bob.token,
      body: { title: "Piggyback", depends_on: [aliceIds.task_id] },
    });
    const missing = await call("/api/v1/tasks", {
      token: bob.token,
      body: { title: "Piggyback", depends_on: [missingIds.task_id] },
    });
    expect(theirs.status).toBe(422);
    const problem = await problemOf(theirs);
    expect(problem.code).toBe("validation_failed");
    for (const secret of A_SECRETS) expect(JSON.stringify(problem)).not.toContain(secret);
    expect(normalized(problem, placeholdersFor(aliceIds))).toEqual(
      normalized(await problemOf(missing), placeholdersFor(missingIds)),
    );
  });

  it("are refused in an existing task's depends_on with the same 422 as a missing task", async () => {
    const carol = await createUser();
    const own = await createTask(carol, { title: "Carol's own task" });
    const [missingA, missingB] = [newId(), newId()];
    const theirs = await call(`/api/v1/tasks/${own.task_id}`, {
      method: "PATCH",
      token: carol.token,
      body: { depends_on: [aliceIds.task_id, aliceSecondTask.task_id] },
    });
    const missing = await call(`/api/v1/tasks/${own.task_id}`, {
      method: "PATCH",
      token: carol.token,
      body: { depends_on: [missingA, missingB] },
    });
    expect(theirs.status).toBe(422);
    const problem = await problemOf(theirs);
    for (const secret of A_SECRETS) expect(JSON.stringify(problem)).not.toContain(secret);
    expect(normalized(problem, { [aliceIds.task_id]: "{a}", [aliceSecondTask.task_id]: "{b}" })).toEqual(
      normalized(await problemOf(missing), { [missingA]: "{a}", [missingB]: "{b}" }),
    );
    const after = await getTask(carol, own.task_id);
    expect(after.depends_on).toEqual([]);
  });
});

/** The id routes an agent's own token may call at all: the delegation ones, and reading a task. */
/** Routes no token may use at all (403 before any id is looked at): only a login mints a credential. */
const LOGIN_ONLY = new Set(["POST /api/v1/delegation/agents/{agent_id}/rotate-token"]);
const agentTokenRoutes = idRoutes.filter(
  (route) =>
    !LOGIN_ONLY.has(routeName(route)) &&
    (route.path.includes("{agent_id}") ||
      route.path.includes("{assignment_id}") ||
      routeName(route) === "GET /api/v1/tasks/{task_id}"),
);
/** Heartbeat, the agent's assignments, four assignment moves, and GET of a task. */
const MIN_AGENT_TOKEN_ROUTES = 7;

describe("another user's agent, with its own token", () => {
  it(`is tried on at least ${MIN_AGENT_TOKEN_ROUTES} routes, reading a task among them`, () => {
    expect(agentTokenRoutes.length).toBeGreaterThanOrEqual(MIN_AGENT_TOKEN_ROUTES);
    expect(agentTokenRoutes.map(routeName)).toContain("GET /api/v1/tasks/{task_id}");
  });

  it.each(agentTokenRoutes.map((route) => [routeName(route), route] as const))(
    "%s answers the owner's ids with the same plain 404 as ids that never existed",
    async (_name, route) => {
      const theirs = requestFor(route, aliceIds);
      const missing = requestFor(route, missingIds);
      const forTheirs = await sendAs(bobAgentToken, theirs);
      const text = await forTheirs.text();
      expect(forTheirs.status, `${theirs.method} ${theirs.path}: ${text}`).toBe(404);
      expect(forTheirs.headers.get("content-type")).toContain("application/problem+json");
      const problem = JSON.parse(text) as ProblemBody;
      expect(problem).toMatchObject({ status: 404, code: "not_found" });
      for (const secret of secretsFor(theirs)) expect(text).not.toContain(secret);
      const forMissing = await sendAs(bobAgentToken, missing);
      expect(forMissing.status).toBe(404);
      expect(normalized(problem, placeholdersFor(aliceIds))).toEqual(
        normalized(await problemOf(forMissing), placeholdersFor(missingIds)),
      );
    },
  );

  it("lists none of the owner's tasks or agents", async () => {
    const tasks = await call("/api/v1/tasks", { token: bobAgentToken });
    const tasksText = await tasks.text();
    expect(tasks.status, tasksText).toBe(200);
    expect(JSON.parse(tasksText)).toEqual([]);
    const agents = await call("/api/v1/delegation/agents", { token: bobAgentToken });
    const agentsText = await agents.text();
    expect(agents.status, agentsText).toBe(200);
    expect((JSON.parse(agentsText) as Agent[]).map((a) => a.agent_id)).toEqual([bobAgent.agent_id]);
    for (const secret of [...A_SECRETS, aliceIds.agent_id, aliceIds.task_id])
      expect(tasksText + agentsText).not.toContain(secret);
  });
});

describe("routes over global admin resources", () => {
  it("refuse anyone without the admin scope with 403, whatever the id", async () => {
    for (const name of ADMIN_ID_ROUTES) {
      const [method, path] = name.split(" ") as [string, string];
      const res = await call(path.replace("{event_id}", newId()), { method, token: bob.token });
      expect(res.status, name).toBe(403);
      expect((await problemOf(res)).code).toBe("forbidden");
    }
  });
});

describe("after the other user's attempts", () => {
  it("the owner's import is still a preview, with its file", async () => {
    const imported = await getImport(alice, aliceIds.import_id);
    expect(imported).toMatchObject({ status: "previewed", mode: null });
    expect(imported.preview.first_items.map((i) => i.title)).toEqual([A_IMPORTED_TITLE]);
    // The upload and the part of its items the commit reads.
    expect(await filesOf(alice.id)).toHaveLength(2);
    expect(await callJson("/api/v1/import", 200, { token: bob.token })).toEqual([]);
  });

  it("the owner's assignment is still pending and the owner's agent still holds it", async () => {
    const assignments = await assignmentsOf(alice, aliceIds.agent_id);
    expect(assignments).toEqual(aliceAssignmentsBefore);
    expect(assignments.map((a) => [a.assignment_id, a.task_id, a.status])).toEqual([
      [aliceIds.assignment_id, aliceIds.task_id, "pending"],
    ]);
    expect(
      await callJson(`/api/v1/delegation/assignments/${aliceIds.assignment_id}/notes`, 200, {
        token: alice.token,
      }),
    ).toEqual([]);
    const agents = await agentsOf(alice);
    expect(agents).toEqual(aliceAgentsBefore);
    expect(agents.map((a) => [a.agent_id, a.current_task_count, a.status])).toEqual([
      [aliceIds.agent_id, 1, "busy"],
    ]);
  });

  it("the owner's focus session is still running as it was, and the ended one is still hers", async () => {
    const now = await focusStateOf(alice);
    expect(now.session).toEqual({
      ...aliceFocusBefore.session,
      elapsed_seconds: now.session?.elapsed_seconds,
      remaining_seconds: now.session?.remaining_seconds,
    });
    expect(now.seq).toBe(aliceFocusBefore.seq);
    const ended = await callJson<FocusSession>(`/api/v1/focus/sessions/${aliceEndedSessionId}`, 200, {
      token: alice.token,
    });
    expect(ended.interruption_log.map((i) => i.note)).toEqual([A_FOCUS_NOTE]);
  });

  it("the owner's pet is as it was: same name, stats, personality and history", async () => {
    const now = await petOf(alice);
    expect(now).toEqual({ ...alicePetBefore, hunger: now.hunger, happiness: now.happiness, mood: now.mood });
    expect(now.name).toBe(A_PET_NAME);
    const history = await interactionsOf(alice);
    expect(history.map((h) => h.kind)).toEqual(["adopt"]);
  });

  it("the other user has no pet, and cannot draw the owner's", async () => {
    const res = await call("/api/v1/pets/me", { token: bob.token });
    expect(res.status).toBe(404);
    const image = await call(`/api/v1/pets/${aliceIds.pet_id}/image.svg`, { token: bob.token });
    expect(image.status).toBe(404);
    expect(await image.text()).not.toContain("<svg");
  });

  it("the other user sees no focus sessions, neither the owner's ended one nor a running one", async () => {
    const res = await call(`/api/v1/focus/sessions/${aliceEndedSessionId}`, { token: bob.token });
    expect(res.status).toBe(404);
    const text = await res.text();
    for (const secret of A_SECRETS) expect(text).not.toContain(secret);
    expect(await callJson("/api/v1/focus/sessions", 200, { token: bob.token })).toEqual([]);
    expect(await focusStateOf(bob)).toMatchObject({ phase: "idle", session: null, last_session: null });
  });

  it("the owner's webhook is as it was: same URL, enabled, same secret", async () => {
    const hook = await callJson<{ url: string; enabled: boolean }>(
      `/api/v1/webhooks/${aliceIds.webhook_id}`,
      200,
      {
        token: alice.token,
      },
    );
    expect(hook).toMatchObject({ url: A_WEBHOOK_URL, enabled: true });
    const row = await env.DB.prepare("SELECT secret FROM webhooks WHERE id = ?")
      .bind(aliceIds.webhook_id)
      .first<{ secret: string }>();
    expect(row?.secret).toBe(aliceWebhookSecret);
    expect(await callJson("/api/v1/webhooks", 200, { token: bob.token })).toEqual([]);
    // Her delivery was never replayed (a replay raises its seq), and her REST hook still stands.
    const delivery = await env.DB.prepare("SELECT seq FROM webhook_deliveries WHERE id = ?")
      .bind(aliceIds.delivery_id)
      .first<{ seq: number }>();
    expect(delivery?.seq).toBe(1);
    const hooks = await callJson<{ webhook_id: string; url: string; source: string }[]>(
      "/api/v1/webhooks",
      200,
      {
        token: alice.token,
      },
    );
    expect(hooks.find((h) => h.webhook_id === aliceIds.hook_id)).toMatchObject({
      url: A_HOOK_URL,
      source: "rest_hook",
    });
  });

  it("the owner's inbox and device are as they were, and the other user's inbox is empty", async () => {
    expect(await inboxOf(alice)).toEqual(aliceInboxBefore);
    expect(aliceInboxBefore.map((n) => [n.notification_id, n.read_at])).toEqual([
      [aliceIds.notification_id, null],
    ]);
    const devices = await callJson<{ device_id: string }[]>("/api/v1/notifications/devices", 200, {
      token: alice.token,
    });
    expect(devices.map((d) => d.device_id)).toEqual([aliceIds.device_id]);
    const bobs = await call("/api/v1/notifications", { token: bob.token });
    const text = await bobs.text();
    expect(JSON.parse(text)).toEqual([]);
    for (const secret of A_SECRETS) expect(text).not.toContain(secret);
  });

  it("the owner's room is as it was: the owner alone in it, under the owner's name", async () => {
    const room = await roomOf(alice, aliceIds.room_id);
    expect(room).toMatchObject({ name: A_ROOM_NAME, code: aliceRoomCode, status: "open" });
    expect(room.members.map((m) => [m.display_name, m.share_task])).toEqual([["Alice secret name", false]]);
    expect(await callJson("/api/v1/rooms", 200, { token: bob.token })).toEqual([]);
  });

  it("the other user's own agent holds nothing", async () => {
    expect(await assignmentsOf(bob, bobAgent.agent_id)).toEqual([]);
    const agents = await agentsOf(bob);
    expect(agents.map((a) => [a.agent_id, a.current_task_count])).toEqual([[bobAgent.agent_id, 0]]);
  });

  it("the owner still sees the same tasks, steps, statuses and progress", async () => {
    const after = await aliceTasks();
    expect(after).toEqual(aliceBefore);
    const [second, first] = after;
    expect(first).toMatchObject({
      task_id: aliceIds.task_id,
      title: A_TITLE,
      status: "in_progress",
      progress: { completed_steps: 1, total_steps: 2, percent: 50 },
    });
    expect(first?.micro_steps?.map((s) => [s.step_id, s.position, s.description, s.status])).toEqual([
      [aliceIds.step_id, 1, A_STEPS[0], "completed"],
      [aliceIds.other_step_id, 2, A_STEPS[1], "pending"],
    ]);
    expect(second).toMatchObject({
      task_id: aliceSecondTask.task_id,
      title: A_SECOND_TITLE,
      status: "pending",
      depends_on: [aliceIds.task_id],
    });
  });

  it("the owner's API token is still listed and still reads the owner's tasks", async () => {
    const tokens = await callJson<ApiTokenDto[]>("/api/v1/auth/tokens", 200, { token: alice.token });
    expect(tokens.map((t) => [t.id, t.name, t.scopes])).toEqual(
      tokensBefore.map((t) => [t.id, t.name, t.scopes]),
    );
    expect(tokens.map((t) => t.id)).toContain(aliceIds.token_id);
    const viaToken = await callJson<Task[]>("/api/v1/tasks", 200, { token: aliceToken });
    expect(viaToken.map((t) => t.title)).toEqual([A_SECOND_TITLE, A_TITLE]);
  });

  it("the owner's private template is as it was, never applied, and the other user made none", async () => {
    const now = await callJson<Template>(`/api/v1/templates/${aliceIds.template_id}`, 200, {
      token: alice.token,
    });
    expect(now).toEqual(aliceTemplateBefore);
    expect(now).toMatchObject({ name: A_TEMPLATE_NAME, is_public: false, times_applied: 0, step_count: 2 });
    expect(await callJson("/api/v1/templates?mine=true", 200, { token: bob.token })).toEqual([]);
  });

  it("the other user's own task list is empty", async () => {
    const list = await callJson<Task[]>("/api/v1/tasks?include=micro_steps", 200, { token: bob.token });
    expect(list).toEqual([]);
  });

  it("no event was recorded for the other user, nor for the owner's tasks under anyone else", async () => {
    const bobs = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE user_id = ?")
      .bind(bob.id)
      .first<{ n: number }>();
    expect(bobs?.n).toBe(0);
    const foreign = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE user_id != ? AND (data LIKE ? OR data LIKE ?)",
    )
      .bind(alice.id, `%${aliceIds.task_id}%`, `%${aliceSecondTask.task_id}%`)
      .first<{ n: number }>();
    expect(foreign?.n).toBe(0);
  });
});
