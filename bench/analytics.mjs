// `npm run bench:analytics`: Insight on a year of one person's history (issue 17).
//
// 1. Registers a user, stops the server and writes BENCH_ANALYTICS_DAYS (default 365) days of realistic
//    history straight into the local D1 file (node:sqlite): tasks with categories, estimates and actual
//    minutes, their micro-steps, focus sessions, energy check-ins, splits with the difficulty felt —
//    and, for each of those facts, its domain event in the outbox, undelivered (about 20,000 events).
// 2. Starts the server again and drains the outbox through the real path: the 5-minute cron's
//    reconciler sends the events to the events queue, whose consumer runs every handler (gamification,
//    analytics rollups …). Prints events/s and checks the rollups against the seeded history.
// 3. Latency, one request at a time (no queueing): GET /health, the dashboard and a year's timeline,
//    with p99 ratios to /health's; then a load pass at BENCH_CONNECTIONS.
// 4. Training: POST /api/v1/models/retrain, waits for the run, and reads its measured training time.
//
// Exit: 0 when the run completed (targets informational), 1 on setup failure or any non-2xx answer.
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import {
  checkEnvironment,
  d1File,
  fixed,
  log,
  positiveInt,
  prepareState,
  prng,
  reportProblems,
  request,
  runMain,
  runPass,
  seconds,
  sleep,
  startServer,
  stopServer,
  table,
  uuidv7,
  writeResults,
} from "./lib.mjs";

const DAYS = positiveInt("BENCH_ANALYTICS_DAYS", 365);
const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const SOLO_DURATION = positiveInt("BENCH_SOLO_DURATION", 10);
const TIMEZONE = "Europe/Berlin";
const RECONCILE_CRON = "/__scheduled?cron=*/5+*+*+*+*";
const DAY_MS = 86_400_000;
const TARGET_RATIO = 1.5;
const TRAINING_TARGET_MS = 1000;
const LOCAL_AI = { INSIGHTS_WRITER: "local", CATEGORISER: "local", SPLITTER: "local" };

const CATEGORIES = [
  ["Work", 0.4, 1.55],
  ["Personal", 0.2, 1.1],
  ["Health", 0.15, 1.0],
  ["Academic", 0.15, 1.25],
  ["Creative", 0.1, 1.35],
];
const ESTIMATES = [10, 15, 20, 25, 30, 45, 60, 90];
const PRIORITIES = ["low", "medium", "medium", "high"];
const TITLES = {
  Work: ["Reply to the client", "Draft the quarterly report", "Review the pull request", "Prepare slides"],
  Personal: ["Pay the electricity bill", "Buy groceries", "Call mum", "Tidy the desk"],
  Health: ["Go for a run", "Book the dentist", "Stretch for ten minutes", "Meal prep"],
  Academic: ["Read chapter 4", "Write the essay outline", "Revise for the exam", "Watch the lecture"],
  Creative: ["Sketch the logo", "Practice guitar", "Write a blog post", "Edit the photos"],
};

/** Picks from [value, weight, …] rows. */
function weighted(random, rows) {
  const total = rows.reduce((s, r) => s + r[1], 0);
  let x = random() * total;
  for (const row of rows) {
    x -= row[1];
    if (x <= 0) return row;
  }
  return rows[rows.length - 1];
}

/** A normal deviate (Box–Muller). */
const gauss = (random) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** The UTC instant of local `hour`:`minute` on the local date `day` in Berlin (CET/CEST, close enough). */
function berlinInstant(dayStartUtc, hour, minute) {
  const month = new Date(dayStartUtc).getUTCMonth();
  const offset = month >= 3 && month <= 9 ? 2 : 1;
  return dayStartUtc + ((hour - offset) * 60 + minute) * 60_000;
}

/**
 * A year of one person: 5–12 tasks a weekday (3–6 at weekends), most finished the same day, 4–7
 * steps each, 2–4 focus sessions a day that go better in the morning, one or two energy check-ins that
 * peak mid-morning, and Work tasks that take about 1.5× their estimate.
 */
function generateHistory(days) {
  const random = prng(20261203);
  const facts = { tasks: [], steps: [], sessions: [], checkins: [], splits: [], events: [] };
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const event = (type, at, data) =>
    facts.events.push({ id: uuidv7(at), type, at: new Date(at).toISOString(), data });
  for (let d = days; d >= 1; d--) {
    const dayStart = today - d * DAY_MS;
    const weekday = new Date(dayStart).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const taskCount = weekend ? 3 + Math.floor(random() * 4) : 5 + Math.floor(random() * 8);
    for (let t = 0; t < taskCount; t++) {
      const [category, , stretch] = weighted(random, CATEGORIES);
      const estimate = ESTIMATES[Math.floor(random() * ESTIMATES.length)];
      const actual = Math.max(2, Math.round(estimate * stretch * Math.exp(0.25 * gauss(random))));
      const priority = PRIORITIES[Math.floor(random() * PRIORITIES.length)];
      const hour = 8 + Math.floor(random() * 12);
      const created = berlinInstant(dayStart, hour, Math.floor(random() * 60));
      const done = random() < 0.85;
      const completed = created + Math.round(actual * 60_000 * (1 + random()));
      const titles = TITLES[category];
      const title = titles[Math.floor(random() * titles.length)];
      const taskId = uuidv7(created);
      const stepCount = 4 + Math.floor(random() * 4);
      const stepMinutes = Math.max(2, Math.min(5, Math.round(estimate / stepCount)));
      const difficulty = Math.max(1, Math.min(5, Math.round(actual / 20 + (category === "Work" ? 1 : 0))));
      facts.tasks.push({
        id: taskId,
        title,
        category,
        priority,
        estimate,
        actual: done ? actual : null,
        created,
        completed: done ? completed : null,
      });
      event("task.created", created, {
        task_id: taskId,
        title,
        priority,
        task_source: "user",
        step_count: stepCount,
      });
      if (random() < 0.5)
        facts.splits.push({ id: uuidv7(created + 1000), taskId, category, difficulty, created });
      for (let s = 0; s < stepCount; s++) {
        const stepId = uuidv7(created + s + 1);
        const stepDone = done ? completed - (stepCount - 1 - s) * stepMinutes * 60_000 : null;
        facts.steps.push({ id: stepId, taskId, position: s + 1, minutes: stepMinutes, completed: stepDone });
        if (stepDone) {
          event("step.completed", stepDone, {
            task_id: taskId,
            step_id: stepId,
            description: `Step ${s + 1} of ${title}`,
            estimated_minutes: stepMinutes,
            leaf_type: "HUMAN",
            task_priority: priority,
            task_estimated_minutes: estimate,
          });
        }
      }
      if (done) {
        event("task.completed", completed, {
          task_id: taskId,
          title,
          priority,
          estimated_minutes: estimate,
          actual_minutes: actual,
          is_meta_task: false,
          created_at: new Date(created).toISOString(),
          completed_steps: stepCount,
        });
      }
    }
    const sessions = weekend ? 1 : 2 + Math.floor(random() * 3);
    for (let s = 0; s < sessions; s++) {
      const hour = 8 + Math.floor(random() * 12);
      const started = berlinInstant(dayStart, hour, Math.floor(random() * 30));
      const completedSession = random() < (hour < 12 ? 0.85 : 0.55);
      const minutes = completedSession ? 25 : 5 + Math.floor(random() * 15);
      const ended = started + minutes * 60_000;
      const task = facts.tasks[facts.tasks.length - 1 - Math.floor(random() * Math.min(3, taskCount))];
      const session = {
        id: uuidv7(started),
        started,
        ended,
        seconds: minutes * 60,
        completed: completedSession,
        interruptions: Math.floor(random() * 3),
        taskId: task?.id ?? null,
      };
      facts.sessions.push(session);
      event(completedSession ? "focus.completed" : "focus.abandoned", ended, {
        session_id: session.id,
        kind: "pomodoro",
        planned_minutes: 25,
        task_id: session.taskId,
        step_id: null,
        actual_minutes: minutes,
        completed: completedSession,
        end_reason: completedSession ? "finished" : "abandoned",
        interruptions: session.interruptions,
        started_at: new Date(started).toISOString(),
        ended_at: new Date(ended).toISOString(),
      });
    }
    const checkins = 1 + (random() < 0.5 ? 1 : 0);
    for (let c = 0; c < checkins; c++) {
      const hour = 7 + Math.floor(random() * 14);
      const at = berlinInstant(dayStart, hour, Math.floor(random() * 60));
      const peak = Math.exp(-((hour - 10) ** 2) / 8);
      const level = random() < peak ? "high" : random() < 0.6 ? "medium" : "low";
      const checkin = { id: uuidv7(at), level, at };
      facts.checkins.push(checkin);
      event("energy.logged", at, { checkin_id: checkin.id, level, at: new Date(at).toISOString() });
    }
  }
  return facts;
}

/** Writes the history (rows and undelivered outbox events) into the stopped server's D1 file. */
function seedHistory(userId, facts) {
  const started = performance.now();
  const db = new DatabaseSync(d1File());
  const iso = (ms) => new Date(ms).toISOString();
  const now = iso(Date.now());
  db.exec("BEGIN");
  db.prepare("UPDATE users SET timezone = ? WHERE id = ?").run(TIMEZONE, userId);
  const task = db.prepare(
    `INSERT INTO tasks (id, user_id, title, status, priority, estimated_minutes, actual_minutes, category,
       category_source, completed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'user', ?, ?, ?)`,
  );
  for (const t of facts.tasks) {
    task.run(
      t.id,
      userId,
      t.title,
      t.completed ? "completed" : "pending",
      t.priority,
      t.estimate,
      t.actual,
      t.category,
      t.completed ? iso(t.completed) : null,
      iso(t.created),
      iso(t.completed ?? t.created),
    );
  }
  const step = db.prepare(
    `INSERT INTO micro_steps (id, task_id, user_id, position, description, estimated_minutes, status,
       completed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const s of facts.steps) {
    const at = iso(s.completed ?? Date.now());
    step.run(
      s.id,
      s.taskId,
      userId,
      s.position,
      `Step ${s.position}`,
      s.minutes,
      s.completed ? "completed" : "pending",
      s.completed ? at : null,
      at,
      at,
    );
  }
  const session = db.prepare(
    `INSERT INTO focus_sessions (id, user_id, kind, planned_minutes, actual_seconds, completed, end_reason,
       interruptions, task_id, started_at, ended_at, created_at)
     VALUES (?, ?, 'pomodoro', 25, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const s of facts.sessions) {
    session.run(
      s.id,
      userId,
      s.seconds,
      s.completed ? 1 : 0,
      s.completed ? "finished" : "abandoned",
      s.interruptions,
      s.taskId,
      iso(s.started),
      iso(s.ended),
      iso(s.ended),
    );
  }
  const checkin = db.prepare(
    "INSERT INTO energy_checkins (id, user_id, level, at, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  for (const c of facts.checkins) checkin.run(c.id, userId, c.level, iso(c.at), iso(c.at));
  const split = db.prepare(
    `INSERT INTO task_splits (id, user_id, task_id, method, scope, category, applied, difficulty, result, created_at)
     VALUES (?, ?, ?, 'local', 'MULTI', ?, 1, ?, ?, ?)`,
  );
  for (const s of facts.splits) {
    const result = {
      scope: "MULTI",
      category: s.category,
      suggested_steps: [],
      subtasks: [],
      total_estimated_minutes: 0,
      task_minutes: 0,
      reasoning: "seeded",
      split_method: "local",
    };
    split.run(s.id, userId, s.taskId, s.category, s.difficulty, JSON.stringify(result), iso(s.created));
  }
  const outbox = db.prepare(
    "INSERT INTO events (id, user_id, type, version, data, occurred_at) VALUES (?, ?, ?, 1, ?, ?)",
  );
  for (const e of facts.events) outbox.run(e.id, userId, e.type, JSON.stringify(e.data), e.at);
  db.exec("COMMIT");
  db.close();
  log(
    `seeded ${facts.tasks.length} tasks, ${facts.steps.length} steps, ${facts.sessions.length} focus sessions, ` +
      `${facts.checkins.length} check-ins and ${facts.events.length} outbox events in ${seconds(started)} s (${now})`,
  );
}

/** Runs the reconciler cron until every seeded event was handled; answers events/s. */
async function drainOutbox(base, total) {
  const db = new DatabaseSync(d1File(), { readOnly: true });
  const undelivered = db.prepare("SELECT COUNT(*) AS n FROM events WHERE delivered_at IS NULL");
  const unsent = db.prepare(
    "SELECT COUNT(*) AS n FROM events WHERE delivered_at IS NULL AND last_sent_at IS NULL",
  );
  const started = performance.now();
  let lastLog = started;
  while (undelivered.get().n > 0) {
    if (unsent.get().n > 0) {
      const res = await fetch(`${base}${RECONCILE_CRON}`, { signal: AbortSignal.timeout(60_000) });
      await res.text();
      if (res.status !== 200) throw new Error(`GET ${RECONCILE_CRON} answered ${res.status}`);
    } else {
      await sleep(200);
    }
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`  ${total - undelivered.get().n} of ${total} events handled (${seconds(started)} s)`);
    }
    if (performance.now() - started > 30 * 60_000) throw new Error("the outbox did not drain in 30 minutes");
  }
  const elapsed = (performance.now() - started) / 1000;
  db.close();
  log(`all ${total} events handled in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)} events/s)`);
  return { events: total, seconds: elapsed, events_per_s: total / elapsed };
}

/** The rollups against the seeded history: every completion counted once, none lost. */
function checkRollups(userId, facts) {
  const db = new DatabaseSync(d1File(), { readOnly: true });
  const totals = db
    .prepare(
      `SELECT SUM(tasks_created) AS created, SUM(tasks_completed) AS completed, SUM(steps_completed) AS steps,
              SUM(focus_sessions) AS sessions, SUM(energy_low + energy_medium + energy_high) AS checkins
       FROM analytics_rollups WHERE user_id = ? AND dim = 'all'`,
    )
    .get(userId);
  db.close();
  const expected = {
    created: facts.tasks.length,
    completed: facts.tasks.filter((t) => t.completed).length,
    steps: facts.steps.filter((s) => s.completed).length,
    sessions: facts.sessions.length,
    checkins: facts.checkins.length,
  };
  const mismatches = Object.keys(expected).filter((k) => Number(totals[k]) !== expected[k]);
  for (const k of mismatches) log(`ERROR rollup ${k}: ${totals[k]}, expected ${expected[k]}`);
  if (mismatches.length === 0) log(`rollups match the history: ${JSON.stringify(expected)}`);
  return { expected, rolled_up: totals, mismatches };
}

/** Retrains the user now and waits for the run; answers its record. */
async function train(base, token, userId) {
  const started = performance.now();
  await request(base, "POST", "/api/v1/models/retrain", { token, expected: 202 });
  const db = new DatabaseSync(d1File(), { readOnly: true });
  const run = db.prepare(
    "SELECT status, training_ms, detail FROM learning_runs WHERE user_id = ? AND status NOT IN ('queued', 'running') ORDER BY queued_at DESC LIMIT 1",
  );
  for (;;) {
    const row = run.get(userId);
    if (row) {
      db.close();
      const wall = (performance.now() - started) / 1000;
      log(
        `training ${row.status}: ${fixed(row.training_ms, 1)} ms of training (${wall.toFixed(1)} s end to end)`,
      );
      return {
        status: row.status,
        training_ms: row.training_ms,
        end_to_end_s: wall,
        detail: JSON.parse(row.detail ?? "null"),
      };
    }
    if (performance.now() - started > 120_000)
      throw new Error("the training run did not finish in 2 minutes");
    await sleep(250);
  }
}

function routes(token) {
  const auth = { authorization: `Bearer ${token}` };
  const yearAgo = new Date(Date.now() - 364 * DAY_MS).toISOString().slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  return [
    { name: "GET /health", method: "GET", path: "/health" },
    {
      name: "GET /api/v1/analytics/dashboard",
      method: "GET",
      path: "/api/v1/analytics/dashboard",
      headers: auth,
    },
    {
      name: "GET /api/v1/analytics/timeline (30 days)",
      method: "GET",
      path: "/api/v1/analytics/timeline",
      headers: auth,
    },
    {
      name: "GET /api/v1/analytics/timeline (a year by week)",
      method: "GET",
      path: `/api/v1/analytics/timeline?from=${yearAgo}&to=${today}&bucket=week`,
      headers: auth,
    },
    {
      name: "GET /api/v1/analytics/timeline (a year by day)",
      method: "GET",
      path: `/api/v1/analytics/timeline?from=${yearAgo}&to=${today}&bucket=day`,
      headers: auth,
    },
    {
      name: "GET /api/v1/analytics/patterns (120 days)",
      method: "GET",
      path: "/api/v1/analytics/patterns",
      headers: auth,
    },
    {
      name: "GET /api/v1/analytics/insights",
      method: "GET",
      path: "/api/v1/analytics/insights",
      headers: auth,
    },
    {
      name: "GET /api/v1/analytics/time-tracking",
      method: "GET",
      path: "/api/v1/analytics/time-tracking",
      headers: auth,
    },
    {
      name: "GET /api/v1/predictions/energy",
      method: "GET",
      path: "/api/v1/predictions/energy",
      headers: auth,
    },
    {
      name: "GET /api/v1/suggestions/now",
      method: "GET",
      path: "/api/v1/suggestions/now",
      headers: auth,
    },
  ];
}

function printPass(title, rows) {
  const health = rows.find((r) => r.route === "GET /health");
  console.log(`\n${title}`);
  console.log(
    table(
      [
        "route",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "ratio req/s",
        "ratio p99",
        `p99 ≤ ${TARGET_RATIO}× /health`,
      ],
      rows.map((r) => {
        const ratio = health && health.p99_ms > 0 ? r.p99_ms / health.p99_ms : null;
        return [
          r.route,
          fixed(r.rps, 1),
          r.p50_ms,
          r.p99_ms,
          r.non2xx,
          fixed(r.ratio_to_health, 2),
          fixed(ratio, 2),
          ratio === null ? "-" : ratio <= TARGET_RATIO ? "PASS" : "FAIL",
        ];
      }),
    ),
  );
}

async function main() {
  checkEnvironment("npm run bench:analytics");
  log(`config: ${DAYS} days of history, ${CONNECTIONS} connections × ${DURATION} s, solo ${SOLO_DURATION} s`);
  prepareState();
  let base = await startServer(LOCAL_AI);
  const credentials = {
    email: `bench-${Date.now()}@example.com`,
    password: randomBytes(18).toString("base64url"),
  };
  const auth = await request(base, "POST", "/api/v1/auth/register", {
    body: { ...credentials, display_name: "Bench" },
    expected: 201,
  });
  const userId = auth.user.id;
  await stopServer();

  const facts = generateHistory(DAYS);
  seedHistory(userId, facts);
  // Workers AI cannot be reached from here: the local writers answer (what production falls back to).
  base = await startServer(LOCAL_AI, { args: ["--test-scheduled"] });
  const drain = await drainOutbox(base, facts.events.length);
  const rollups = checkRollups(userId, facts);

  // Access tokens live 15 minutes and draining may take longer: a fresh login for each phase.
  const login = async () =>
    (await request(base, "POST", "/api/v1/auth/login", { body: credentials, expected: 200 })).access_token;
  // Trained first, so the prediction reads answer with this person's own models.
  const training = await train(base, await login(), userId);
  console.log(
    `\ntraining: ${fixed(training.training_ms, 1)} ms per user on ${facts.tasks.length} tasks ` +
      `(target < ${TRAINING_TARGET_MS} ms: ${training.training_ms < TRAINING_TARGET_MS ? "PASS" : "FAIL"})`,
  );

  const solo = await runPass(base, routes(await login()), 1, SOLO_DURATION, 2);
  printPass("One request at a time (latency)", solo);
  const load = await runPass(base, routes(await login()), CONNECTIONS, DURATION, 2);
  printPass(`${CONNECTIONS} connections (throughput)`, load);

  writeResults("analytics.json", { days: DAYS, drain, rollups, solo, load, training });
  const bad = reportProblems([...solo, ...load]);
  return bad.length > 0 || rollups.mismatches.length > 0 ? 1 : 0;
}

runMain(main);
