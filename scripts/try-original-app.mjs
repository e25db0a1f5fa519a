#!/usr/bin/env node
// Tried from outside (issue 19): the original system's 25 most-used calls, sent exactly as its clients
// send them (ORIGINAL_CLIENTS.md) — the Expo app's apiClient (a JSON content type on every call, no
// body when there is none) and the agents' curl scripts (a content type only with a body) — against a
// running server (`npm start`). For each call it checks the status and the fields the client reads,
// and prints a table: how many of the 25 answer as their client reads them.
//
//   node scripts/try-original-app.mjs [http://localhost:8787]
const BASE = `${process.argv[2] ?? process.env.BASE ?? "http://localhost:8787"}/api/v1`;
const run = Math.random().toString(36).slice(2, 8);
const rows = [];
let token;

/** The app's apiClient: JSON content type always; bearer once signed in. */
async function app(method, path, body, extra = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token && !extra.noToken) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** The agents' scripts: curl with a content type only when there is a body. */
async function curl(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** A dotted path's value ("user.user_id", "micro_steps.0.step_id"). */
function at(value, path) {
  return path.split(".").reduce((v, key) => (v === null || v === undefined ? undefined : v[key]), value);
}

/** Records call `n`: its status must be `status`, and every field the client reads must be there. */
function check(n, label, res, status, fields, also = () => null) {
  const missing = fields.filter((f) => at(res.json, f) === undefined);
  const why =
    res.status !== status
      ? `status ${res.status} (${res.json?.detail ?? ""})`
      : missing.length
        ? `missing ${missing.join(", ")}`
        : also(res.json);
  rows.push({ n, call: label, status: res.status, ok: !why, note: why ?? "" });
  return res.json;
}

const credentials = {
  username: `Sam_${run}`,
  email: `sam.${run}@example.com`,
  password: "correct-horse-battery",
};
const USER_FIELDS = [
  "access_token",
  "refresh_token",
  "token_type",
  "expires_in",
  "user.user_id",
  "user.username",
  "user.email",
  "user.full_name",
];

// 1–4: accounts, as authService.ts sends them.
let r = await app("POST", "/auth/register", { ...credentials, full_name: "Sam Rivers" });
check(1, "POST /auth/register", r, 201, USER_FIELDS, (v) =>
  v.token_type === "bearer" ? null : `token_type ${v.token_type}`,
);
r = await app("POST", "/auth/login", {
  username: credentials.username.toLowerCase(),
  password: credentials.password,
});
let v = check(2, "POST /auth/login (by username)", r, 200, USER_FIELDS);
token = v?.access_token;
const refreshToken = v?.refresh_token;
const user = v?.user;
r = await app("POST", "/auth/refresh", { refresh_token: refreshToken }, { noToken: true });
v = check(3, "POST /auth/refresh", r, 200, USER_FIELDS, (x) =>
  x.user.user_id === user.user_id ? null : "another user",
);
token = v?.access_token ?? token;
r = await app("GET", "/auth/profile");
check(4, "GET /auth/profile", r, 200, [
  "user_id",
  "username",
  "email",
  "full_name",
  "created_at",
  "is_active",
]);

// 5–7: capture, as add.tsx and clarify.tsx send it (user_id hard-coded to "user_123").
r = await app("POST", "/capture/", {
  query: "Email Sam about the rent tomorrow",
  user_id: "user_123",
  mode: "auto",
});
const preview = check(5, "POST /capture/", r, 200, [
  "task.task_id",
  "task.title",
  "task.description",
  "task.estimated_minutes",
  "task.priority",
  "micro_steps.0.step_id",
  "micro_steps.0.description",
  "micro_steps.0.estimated_minutes",
  "micro_steps.0.delegation_mode",
  "micro_steps.0.leaf_type",
  "clarifications",
  "ready_to_save",
  "mode",
]);
r = await app("POST", "/capture/clarify", {
  micro_steps: preview?.micro_steps ?? [],
  answers: { deadline: "tomorrow" },
});
check(6, "POST /capture/clarify", r, 200, ["micro_steps", "clarifications", "ready_to_save"]);
r = await app("POST", "/capture/save", {
  task: preview?.task ?? { title: "Email Sam" },
  micro_steps: preview?.micro_steps ?? [],
  user_id: "user_123",
  project_id: "default-project",
});
check(7, "POST /capture/save", r, 201, ["success", "task_id", "micro_step_ids", "total_steps", "message"]);

// 8: onboarding, at the app's doubled prefix (onboardingService.ts).
const onboarding = `/api/v1/users/${user?.user_id}/onboarding`;
r = await app("PUT", onboarding, {
  work_preference: "remote",
  adhd_support_level: 7,
  adhd_challenges: ["time_blindness", "task_initiation"],
  daily_schedule: {
    preferredStartTime: "09:00",
    preferredEndTime: "17:00",
    timePreference: "morning",
    weeklyAvailability: { monday: true, tuesday: true },
    flexibleSchedule: true,
  },
  productivity_goals: ["finish_projects"],
});
const onboarded = r.status === 200;
r = await app("POST", `${onboarding}/complete`, { completed: true });
check(8, "PUT /users/{uid}/onboarding (+complete)", r, onboarded ? 200 : -1, [
  "user_id",
  "work_preference",
  "adhd_support_level",
  "adhd_challenges",
  "daily_schedule",
  "productivity_goals",
  "onboarding_completed",
  "onboarding_skipped",
  "completed_at",
  "created_at",
  "updated_at",
]);

// 9–14: projects, tasks, splitting, steps (the scripts' and the app's task service).
r = await app("POST", "/projects", { name: `Thesis ${run}`, description: "Chapter by chapter" });
const project = check(9, "POST /projects", r, 201, ["project_id"]);
r = await app("POST", "/tasks", {
  title: "Write the literature review",
  description: "Ten sources, two pages",
  project_id: project?.project_id,
  priority: "high",
  estimated_hours: 1.5,
  tags: ["thesis"],
});
const task = check(
  10,
  "POST /tasks (estimated_hours, project_id)",
  r,
  201,
  [
    "task_id",
    "title",
    "description",
    "project_id",
    "status",
    "priority",
    "estimated_hours",
    "actual_hours",
    "progress_percentage",
    "tags",
    "is_overdue",
    "created_at",
    "updated_at",
    "micro_steps",
  ],
  (x) =>
    x.estimated_hours === 1.5 && x.project_id === project?.project_id
      ? null
      : `estimated_hours ${x.estimated_hours}, project_id ${x.project_id}`,
);
r = await app("GET", `/tasks/${task?.task_id}`);
check(11, "GET /tasks/{id}", r, 200, [
  "task_id",
  "title",
  "description",
  "estimated_hours",
  "status",
  "micro_steps",
  "created_at",
  "updated_at",
]);
r = await app("POST", `/tasks/${task?.task_id}/split`, { mode: "adhd" });
const split = check(12, "POST /tasks/{id}/split", r, 200, [
  "task_id",
  "scope",
  "micro_steps.0.step_id",
  "micro_steps.0.step_order",
  "micro_steps.0.description",
  "micro_steps.0.estimated_minutes",
  "micro_steps.0.delegation_mode",
  "micro_steps.0.leaf_type",
  "micro_steps.0.is_completed",
  "total_estimated_minutes",
]);
const stepId = split?.micro_steps?.[0]?.step_id;
r = await app("PATCH", `/micro-steps/${stepId}/complete`);
check(
  13,
  "PATCH /micro-steps/{id}/complete (no body)",
  r,
  200,
  ["step_id", "is_completed", "xp_awarded", "status", "completed_at", "xp_earned", "message"],
  (x) => (x.xp_awarded > 0 ? null : "no XP"),
);
r = await app("GET", `/tasks/${task?.task_id}/progress`);
check(
  14,
  "GET /tasks/{id}/progress",
  r,
  200,
  ["total_steps", "completed_steps", "progress_percentage", "progress_percent"],
  (x) => (x.completed_steps === 1 ? null : `completed_steps ${x.completed_steps}`),
);

// 15–20: delegation, as scripts/dogfood.sh sends it.
const agentId = `claude-code-${run}`;
r = await curl("POST", "/delegation/agents", {
  agent_id: agentId,
  agent_name: "Claude Code",
  agent_type: "backend",
  skills: ["python", "typescript"],
  max_concurrent_tasks: 3,
});
const agentCreated = check(19, "POST and GET /delegation/agents", r, 201, [
  "capability_id",
  "current_task_count",
  "is_available",
  "created_at",
  "updated_at",
]);
r = await curl("POST", "/tasks", {
  title: "BE-07 webhooks retry policy",
  description: "Exponential backoff",
  priority: "medium",
  tags: ["backend"],
});
const agentTask = r.json;
r = await curl("POST", "/delegation/delegate", {
  task_id: agentTask?.task_id,
  assignee_id: agentId,
  assignee_type: "agent",
  estimated_hours: 6.0,
});
const assignment = check(15, "POST /delegation/delegate", r, 201, [
  "assignment_id",
  "task_id",
  "assignee_id",
  "assignee_type",
  "status",
  "assigned_at",
  "accepted_at",
  "completed_at",
  "estimated_hours",
  "actual_hours",
]);
r = await curl("POST", `/delegation/assignments/${assignment?.assignment_id}/accept`);
check(16, "POST …/assignments/{id}/accept (no body)", r, 200, ["status", "accepted_at"]);
r = await curl("POST", `/delegation/assignments/${assignment?.assignment_id}/complete`, {
  actual_hours: 5.5,
});
check(17, "POST …/assignments/{id}/complete", r, 200, ["status", "completed_at", "actual_hours"], (x) =>
  x.status === "completed" && x.actual_hours === 5.5 ? null : `${x.status} ${x.actual_hours}`,
);
r = await curl("GET", `/delegation/assignments/agent/${agentId}?status=completed`);
check(18, "GET …/assignments/agent/{id}?status=", r, 200, ["0.assignment_id", "0.status"]);
r = await curl("GET", "/delegation/agents?agent_type=backend&available_only=true");
if (
  agentCreated &&
  !(
    r.status === 200 &&
    Array.isArray(r.json) &&
    r.json.some((a) => a.agent_id === agentId || a.capability_id === agentId)
  )
) {
  rows.find((row) => row.n === 19).ok = false;
  rows.find((row) => row.n === 19).note = `GET list: ${r.status}`;
}
r = await app("GET", "/delegation/tasks?filter=all");
check(
  20,
  "GET /delegation/tasks?filter=",
  r,
  200,
  [
    "0.task_id",
    "0.title",
    "0.status",
    "0.priority",
    "0.delegation_mode",
    "0.estimated_hours",
    "0.tags",
    "0.is_meta_task",
    "0.scope",
  ],
  (x) => (typeof x[0].tags === "string" ? null : "tags not a JSON string"),
);

// 21: templates (the app's own Homework template: steps of 15 and 25 minutes).
r = await app("POST", "/task-templates/", {
  name: "Homework",
  description: "An assignment from start to finish",
  category: "Academic",
  icon: "📚",
  created_by: user?.user_id,
  is_public: false,
  steps: [
    {
      step_order: 1,
      description: "Read the assignment",
      short_label: "Read",
      estimated_minutes: 15,
      leaf_type: "HUMAN",
    },
    {
      step_order: 2,
      description: "Write the first draft",
      short_label: "Draft",
      estimated_minutes: 25,
      leaf_type: "HUMAN",
    },
  ],
});
const template = r.json;
let templateOk =
  r.status === 201 &&
  template?.template_id &&
  template?.steps?.[0]?.step_id &&
  template?.steps?.[0]?.step_order === 1;
r = await app("GET", "/task-templates/?category=Academic");
templateOk &&= r.status === 200 && Array.isArray(r.json);
r = await app("GET", `/task-templates/${template?.template_id}`);
check(21, "POST, GET list, GET /{id} /task-templates/", r, templateOk ? 200 : -1, [
  "template_id",
  "created_at",
  "updated_at",
  "steps.0.step_id",
  "steps.0.template_id",
  "steps.0.step_order",
]);

// 22–23: pets (query parameters, no body, on the feed).
r = await app("POST", "/pets/create", { user_id: user?.user_id, species: "owl", name: "Hoot" });
const petMade = r.status === 201;
r = await app("GET", `/pets/${user?.user_id}`);
check(22, "POST /pets/create (+GET /pets/{uid})", r, petMade ? 200 : -1, [
  "pet_id",
  "user_id",
  "species",
  "name",
  "level",
  "xp",
  "hunger",
  "happiness",
  "evolution_stage",
  "created_at",
  "last_fed_at",
]);
// The completed step's XP reaches the pet as treats once the event queue has run.
for (let i = 0; i < 20; i++) {
  r = await app("POST", `/pets/feed?user_id=${user?.user_id}&task_priority=high&task_estimated_minutes=5`);
  if (r.status !== 409) break;
  await new Promise((done) => setTimeout(done, 500));
}
check(23, "POST /pets/feed?… (query params)", r, 200, [
  "pet",
  "leveled_up",
  "evolved",
  "xp_to_next_level",
  "xp_gained",
  "hunger_restored",
  "happiness_gained",
]);

// 24–25: focus sessions.
r = await app("POST", "/focus/sessions", {
  user_id: user?.user_id,
  step_id: split?.micro_steps?.[1]?.step_id,
  duration_minutes: 25,
});
const session = r.json;
const started =
  r.status === 201 && session?.session_id && session?.ended_at === null && session?.completed === false;
await app("PUT", `/focus/sessions/${session?.session_id}`, { interruptions: 1 });
r = await app("PUT", `/focus/sessions/${session?.session_id}`, { completed: true });
check(
  24,
  "POST /focus/sessions (+PUT /{id})",
  r,
  started ? 200 : -1,
  [
    "session_id",
    "user_id",
    "step_id",
    "started_at",
    "ended_at",
    "duration_minutes",
    "completed",
    "interruptions",
    "created_at",
  ],
  (x) =>
    x.completed === true && x.interruptions === 1
      ? null
      : `completed ${x.completed}, interruptions ${x.interruptions}`,
);
r = await app("GET", `/focus/sessions/analytics/${user?.user_id}`);
check(
  25,
  "GET /focus/sessions/analytics/{uid}",
  r,
  200,
  [
    "total_sessions",
    "completed_sessions",
    "completion_rate",
    "total_focus_minutes",
    "average_duration_minutes",
  ],
  (x) => (x.total_sessions === 1 ? null : `total_sessions ${x.total_sessions}`),
);

rows.sort((a, b) => a.n - b.n);
console.log("| # | call | status | as the client reads it |");
console.log("|---|---|---|---|");
for (const row of rows)
  console.log(`| ${row.n} | ${row.call} | ${row.status} | ${row.ok ? "yes" : `no: ${row.note}`} |`);
const ok = rows.filter((row) => row.ok).length;
console.log(`\n${ok} of ${rows.length} calls answer as their client reads them.`);
process.exitCode = ok >= 22 ? 0 : 1;
