// `npm run bench:notifications`: due-soon reminders for BENCH_NOTIFY_USERS users (default 1,000) with
// BENCH_NOTIFY_TASKS tasks each (default 10), through the real path on a throwaway `wrangler dev`:
// every task is created over the API due 25–55 minutes ahead (so exactly its 60-minute reminder is due),
// the minute cron (`/__scheduled`, wrangler's --test-scheduled) claims the reminders and enqueues one
// notify message each on the notifications queue, and the local queue consumer writes the inbox rows.
// The cron is triggered three times, the last two at once, to show that overlapping runs enqueue
// nothing twice. Throughput and enqueue-to-inbox latency come from the rows' own timestamps.
// See bench/README.md.
//
// Env: BENCH_PORT, BENCH_NOTIFY_USERS (default 1000), BENCH_NOTIFY_TASKS (per user, default 10),
// BENCH_NOTIFY_TIMEOUT (s to wait for the inbox rows, default 600).
// Exit: 0 when every reminder arrived once (lost 0, duplicated 0) and the sampled inboxes agree;
// 1 otherwise, or on a setup failure.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { stripVTControlCharacters } from "node:util";
import {
  cannon,
  checkEnvironment,
  d1File,
  fixed,
  log,
  mapConcurrent,
  positiveInt,
  prepareState,
  printLoadTable,
  request,
  runMain,
  runPass,
  STATE_DIR,
  seconds,
  sleep,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";

const USERS = positiveInt("BENCH_NOTIFY_USERS", 1000);
const TASKS_PER_USER = positiveInt("BENCH_NOTIFY_TASKS", 10);
const TIMEOUT_SECONDS = positiveInt("BENCH_NOTIFY_TIMEOUT", 600);
const EXPECTED = USERS * TASKS_PER_USER;
/** The inbox read pass: 50 connections (the house bar's), 5 s a route. */
const READ_CONNECTIONS = 50;
const READ_SECONDS = positiveInt("BENCH_NOTIFY_READ_SECONDS", 5);
const SETUP_CONCURRENCY = 20;
const HEALTH_SECONDS = 5;
const HEALTH_CONNECTIONS = 50;
const SAMPLE_USERS = 20;
const POLL_MS = 250;
// After the last row arrived: time for a late duplicate (a redelivery, a straggling run) to show up.
const SETTLE_MS = 5000;
const EVENTS_DRAIN_SECONDS = 120;
// Due 25–55 minutes after creation: past the 60-minute reminder, short of the 15-minute one (the default
// offsets) with ten minutes to spare for the setup.
const DUE_FROM_MIN = 25;
const DUE_TO_MIN = 55;
const SECOND_REMINDER_MIN = 15;
const CRON_PATH = "/__scheduled?cron=*+*+*+*+*";
// The 1st run needs about two seconds for 10,000 reminders (20 pages); the 2nd and 3rd start inside it.
const OVERLAP_DELAY_MS = 100;
const PROBE_PAUSE_MS = 200;
const WRANGLER_LOG = join(STATE_DIR, "wrangler-dev.log");
const MINUTE = 60_000;

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A read-only connection to the local D1 file: cheap to poll while workerd writes it (WAL). */
function openD1() {
  return new DatabaseSync(d1File(), { readOnly: true });
}

async function registerUsers(base) {
  const started = performance.now();
  const stamp = Date.now();
  const users = await mapConcurrent(
    Array.from({ length: USERS }, (_, i) => i),
    SETUP_CONCURRENCY,
    async (i) => {
      const auth = await request(base, "POST", "/api/v1/auth/register", {
        body: {
          email: `bench-notify-${i}-${stamp}@example.com`,
          password: `bench-notify-password-${i}`,
          display_name: `Notified ${i}`,
        },
        expected: 201,
      });
      if (typeof auth?.access_token !== "string" || typeof auth?.user?.id !== "string") {
        throw new Error(`register answered 201 without user.id/access_token:\n${JSON.stringify(auth)}`);
      }
      return { id: auth.user.id, token: auth.access_token, tasks: [] };
    },
  );
  log(`registered ${USERS} users in ${seconds(started)} s (${SETUP_CONCURRENCY} at a time)`);
  return users;
}

/** TASKS_PER_USER tasks per user, their due times spread evenly over DUE_FROM_MIN..DUE_TO_MIN from now. */
async function createTasks(base, users) {
  const started = performance.now();
  const from = Date.now();
  const jobs = users.flatMap((user, u) =>
    Array.from({ length: TASKS_PER_USER }, (_, t) => ({ user, u, t, k: u * TASKS_PER_USER + t })),
  );
  const span = (DUE_TO_MIN - DUE_FROM_MIN) * MINUTE;
  await mapConcurrent(jobs, SETUP_CONCURRENCY, async ({ user, u, t, k }) => {
    const due = new Date(from + DUE_FROM_MIN * MINUTE + Math.floor((k / Math.max(1, EXPECTED - 1)) * span));
    const task = await request(base, "POST", "/api/v1/tasks", {
      token: user.token,
      body: { title: `Bench reminder ${u}-${t}`, due_at: due.toISOString() },
      expected: 201,
    });
    if (typeof task?.task_id !== "string" || typeof task?.due_at !== "string") {
      throw new Error(`POST /api/v1/tasks answered 201 without task_id/due_at:\n${JSON.stringify(task)}`);
    }
    user.tasks.push({ id: task.task_id, dueAt: task.due_at });
  });
  const took = (performance.now() - started) / 1000;
  log(`created ${EXPECTED} tasks in ${took.toFixed(1)} s (${(EXPECTED / took).toFixed(0)}/s)`);
  return took;
}

/** Waits until the events queue has handled the task.created events, so that it does not compete. */
async function drainEvents(db) {
  const started = performance.now();
  const pending = db.prepare("SELECT count(*) AS n FROM events WHERE delivered_at IS NULL");
  for (;;) {
    const { n } = pending.get();
    if (n === 0) break;
    if ((performance.now() - started) / 1000 > EVENTS_DRAIN_SECONDS) {
      log(`WARN ${n} events still undelivered after ${EVENTS_DRAIN_SECONDS} s; going on`);
      return n;
    }
    await sleep(500);
  }
  log(`events queue drained (every task.created handled) in ${seconds(started)} s`);
  return 0;
}

/** One `GET /__scheduled` of the minute cron, timed from the bench's clock. */
async function triggerCron(base, label, t0) {
  const sent = performance.now();
  const res = await fetch(`${base}${CRON_PATH}`, { signal: AbortSignal.timeout(120_000) });
  const text = await res.text();
  const answered = performance.now();
  if (res.status !== 200) throw new Error(`${label}: GET ${CRON_PATH} answered ${res.status}: ${text}`);
  return {
    trigger: label,
    sent_ms: Math.round(sent - t0),
    answered_ms: Math.round(answered - t0),
    sent_at: new Date(Date.now() - (performance.now() - sent)).toISOString(),
  };
}

/**
 * One GET /health at a time (PROBE_PAUSE_MS apart) until `done()`: how the API answers while the cron
 * runs and the queue drains, next to the quiet baseline. Answers each probe's send time and latency (ms).
 */
async function probeHealth(base, t0, done) {
  const probes = [];
  while (!done()) {
    const sent = performance.now();
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(60_000) });
    await res.text();
    probes.push({
      sent_ms: Math.round(sent - t0),
      ms: Math.round(performance.now() - sent),
      status: res.status,
    });
    await sleep(PROBE_PAUSE_MS);
  }
  return probes;
}

/** Polls the inbox rows until EXPECTED are in (or the timeout); answers when they were all seen. */
async function waitForInbox(db, t0) {
  const count = db.prepare("SELECT count(*) AS n FROM notifications WHERE kind = 'due_soon'");
  let last = -1;
  let lastLog = performance.now();
  for (;;) {
    const { n } = count.get();
    if (n >= EXPECTED) return { complete: true, seen_all_ms: Math.round(performance.now() - t0), rows: n };
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed > TIMEOUT_SECONDS) return { complete: false, seen_all_ms: null, rows: n };
    if (performance.now() - lastLog > 5000 && n !== last) {
      log(`${n}/${EXPECTED} inbox rows after ${elapsed.toFixed(0)} s`);
      last = n;
      lastLog = performance.now();
    }
    await sleep(POLL_MS);
  }
}

/** Lost, duplicated and unexpected reminders, latencies and throughput, from the rows themselves. */
function analyse(db, users) {
  const rows = db
    .prepare(
      `SELECT user_id, json_extract(data, '$.task_id') AS task_id,
              json_extract(data, '$.offset_minutes') AS offset_minutes,
              enqueued_at, created_at, status, push_state
       FROM notifications WHERE kind = 'due_soon'`,
    )
    .all();
  const expected = new Map();
  for (const user of users) for (const task of user.tasks) expected.set(`${user.id}|${task.id}`, 0);
  let unexpected = 0;
  for (const row of rows) {
    const key = `${row.user_id}|${row.task_id}`;
    if (expected.has(key)) expected.set(key, expected.get(key) + 1);
    else unexpected++;
  }
  const counts = [...expected.values()];
  const lostPairs = [...expected].filter(([, n]) => n === 0).map(([k]) => k);
  const duplicated = counts.filter((n) => n > 1).length;
  const extraRows = counts.reduce((sum, n) => sum + Math.max(0, n - 1), 0);

  const latencies = rows
    .map((r) => Date.parse(r.created_at) - Date.parse(r.enqueued_at))
    .sort((a, b) => a - b);
  const firstEnqueued = Math.min(...rows.map((r) => Date.parse(r.enqueued_at)));
  const lastCreated = Math.max(...rows.map((r) => Date.parse(r.created_at)));
  const span = (lastCreated - firstEnqueued) / 1000;
  const byStatus = {};
  const byPushState = {};
  const byOffset = {};
  const byRun = {};
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    byPushState[r.push_state] = (byPushState[r.push_state] ?? 0) + 1;
    byOffset[r.offset_minutes] = (byOffset[r.offset_minutes] ?? 0) + 1;
    byRun[r.enqueued_at] = (byRun[r.enqueued_at] ?? 0) + 1;
  }
  const one = (sql) => db.prepare(sql).get().n;
  return {
    rows: rows.length,
    lost: lostPairs.length,
    lost_sample: lostPairs.slice(0, 10),
    duplicated,
    duplicate_rows: extraRows,
    unexpected,
    not_delivered: rows.length - (byStatus.delivered ?? 0),
    by_status: byStatus,
    by_push_state: byPushState,
    by_offset_minutes: byOffset,
    // Every row of one cron run carries that run's start as enqueued_at: rows per run.
    by_enqueued_at: byRun,
    first_enqueued_at: rows.length > 0 ? new Date(firstEnqueued).toISOString() : null,
    last_created_at: rows.length > 0 ? new Date(lastCreated).toISOString() : null,
    span_s: span,
    notifications_per_s: span > 0 ? rows.length / span : null,
    latency_ms: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? null,
      min: latencies[0] ?? null,
    },
    claims: {
      total: one("SELECT count(*) AS n FROM reminder_claims"),
      unsent: one("SELECT count(*) AS n FROM reminder_claims WHERE enqueued_at IS NULL"),
      offset_60: one("SELECT count(*) AS n FROM reminder_claims WHERE offset_minutes = 60"),
    },
    dead_letters: one("SELECT count(*) AS n FROM dead_letters"),
    other_notifications: one("SELECT count(*) AS n FROM notifications WHERE kind <> 'due_soon'"),
  };
}

/**
 * The inbox's hot reads under load, in one pass with GET /health (the house bar: at least 60% of its
 * throughput at 50 connections, p99 within 1.5× of its own), as one user with TASKS_PER_USER rows.
 */
async function inboxReads(base, user) {
  const headers = { authorization: `Bearer ${user.token}` };
  const list = [
    { name: "GET /health", method: "GET", path: "/health" },
    {
      name: "GET /api/v1/notifications?limit=50",
      method: "GET",
      path: "/api/v1/notifications?limit=50",
      headers,
    },
    {
      name: "GET /api/v1/notifications/unread-count",
      method: "GET",
      path: "/api/v1/notifications/unread-count",
      headers,
    },
  ];
  return runPass(base, list, READ_CONNECTIONS, READ_SECONDS, 1);
}

/** Through the API, as the users themselves: SAMPLE_USERS inboxes must each show TASKS_PER_USER reminders. */
async function checkSample(base, users) {
  const step = Math.max(1, Math.floor(users.length / SAMPLE_USERS));
  const sample = users.filter((_, i) => i % step === 0).slice(0, SAMPLE_USERS);
  const wrong = [];
  await mapConcurrent(sample, 5, async (user) => {
    const { unread } = await request(base, "GET", "/api/v1/notifications/unread-count", {
      token: user.token,
      expected: 200,
    });
    const inbox = await request(base, "GET", "/api/v1/notifications?kind=due_soon&limit=50", {
      token: user.token,
      expected: 200,
    });
    const taskIds = new Set(user.tasks.map((t) => t.id));
    const listed = Array.isArray(inbox) ? inbox.filter((n) => taskIds.has(n.data?.task_id)) : [];
    const distinct = new Set(listed.map((n) => n.data.task_id)).size;
    if (unread !== TASKS_PER_USER || !Array.isArray(inbox) || inbox.length !== TASKS_PER_USER) {
      wrong.push({ user: user.id, unread, listed: Array.isArray(inbox) ? inbox.length : null, distinct });
    } else if (distinct !== TASKS_PER_USER) {
      wrong.push({ user: user.id, unread, listed: inbox.length, distinct });
    }
  });
  return { sampled: sample.length, wrong };
}

/**
 * What wrangler dev logged during the run: error, warning and retry lines (counts and the first few),
 * and the notifications queue's deliveries (`QUEUE pap-notifications <acked>/<messages> (<ms>)`).
 */
function scanLog() {
  let text = "";
  try {
    text = readFileSync(WRANGLER_LOG, "utf8");
  } catch {
    return { errors: 0, warnings: 0, retries: 0, first: [], queue: null };
  }
  // ANSI colour codes would split the words matched below.
  const lines = stripVTControlCharacters(text).split("\n");
  const errors = lines.filter((l) => /"level":"error"|✘|\bERROR\b|Uncaught/.test(l));
  const warnings = lines.filter((l) => /"level":"warn"|▲|\bWARN\b/.test(l));
  const retries = lines.filter((l) => /retr(y|ied)/i.test(l));
  const queue = { deliveries: 0, messages: 0, acked: 0, batch_ms: [] };
  for (const line of lines) {
    const m = /QUEUE pap-notifications (\d+)\/(\d+) \((\d+)ms\)/.exec(line);
    if (!m) continue;
    queue.deliveries++;
    queue.acked += Number(m[1]);
    queue.messages += Number(m[2]);
    queue.batch_ms.push(Number(m[3]));
  }
  const sorted = [...queue.batch_ms].sort((a, b) => a - b);
  return {
    errors: errors.length,
    warnings: warnings.length,
    retries: retries.length,
    first: [...new Set([...errors, ...warnings, ...retries])].slice(0, 8).map((l) => l.slice(0, 300)),
    queue: {
      deliveries: queue.deliveries,
      messages: queue.messages,
      not_acked: queue.messages - queue.acked,
      batch_ms_p50: percentile(sorted, 50),
      batch_ms_p99: percentile(sorted, 99),
      batch_ms_max: sorted.at(-1) ?? null,
    },
  };
}

async function main() {
  checkEnvironment("npm run bench:notifications");
  log(
    `config: ${USERS} users × ${TASKS_PER_USER} tasks = ${EXPECTED} due-soon reminders, ` +
      `due ${DUE_FROM_MIN}–${DUE_TO_MIN} min ahead; timeout ${TIMEOUT_SECONDS} s`,
  );
  const wallStart = performance.now();
  prepareState();
  const base = await startServer({}, { args: ["--test-scheduled"] });
  const db = openD1();

  const users = await registerUsers(base);
  const tasksSeconds = await createTasks(base, users);
  await drainEvents(db);

  log(`baseline: GET /health, ${HEALTH_CONNECTIONS} connections for ${HEALTH_SECONDS} s`);
  await cannon(base, { name: "GET /health", method: "GET", path: "/health" }, HEALTH_CONNECTIONS, 1);
  const health = await cannon(
    base,
    { name: "GET /health", method: "GET", path: "/health" },
    HEALTH_CONNECTIONS,
    HEALTH_SECONDS,
  );
  if (health.non2xx > 0) throw new Error(`GET /health answered ${health.non2xx} non-2xx`);

  const earliestDue = Math.min(...users.flatMap((u) => u.tasks.map((t) => Date.parse(t.dueAt))));
  const headroom = (earliestDue - Date.now()) / MINUTE;
  if (headroom <= SECOND_REMINDER_MIN + 1) {
    throw new Error(
      `the setup took too long: the earliest task is due in ${headroom.toFixed(1)} min, so its ` +
        `${SECOND_REMINDER_MIN}-minute reminder could be due too; lower BENCH_NOTIFY_USERS`,
    );
  }
  if (db.prepare("SELECT count(*) AS n FROM notifications").get().n !== 0) {
    throw new Error("there are notifications before the cron ran: the count would be off");
  }

  log(
    `triggering the minute cron (${CRON_PATH}) three times: the 2nd and 3rd together, ` +
      `${OVERLAP_DELAY_MS} ms after the 1st, while it is still claiming`,
  );
  const t0 = performance.now();
  let drained = false;
  const probing = probeHealth(base, t0, () => drained);
  const firstRun = triggerCron(base, "1st", t0);
  await sleep(OVERLAP_DELAY_MS);
  const triggers = await Promise.all([firstRun, triggerCron(base, "2nd", t0), triggerCron(base, "3rd", t0)]);
  log(`cron triggers answered after ${triggers.map((t) => `${t.trigger} ${t.answered_ms} ms`).join(", ")}`);

  const wait = await waitForInbox(db, t0);
  if (!wait.complete) {
    log(`ERROR only ${wait.rows}/${EXPECTED} inbox rows after ${TIMEOUT_SECONDS} s`);
  } else {
    log(`all ${EXPECTED} inbox rows seen ${(wait.seen_all_ms / 1000).toFixed(1)} s after the first trigger`);
  }
  drained = true;
  const probes = await probing;
  // A run after everything arrived (the next minute's, in production) must find nothing to send.
  triggers.push(await triggerCron(base, "4th (after)", t0));
  await sleep(SETTLE_MS);
  const result = analyse(db, users);
  const sample = await checkSample(base, users);
  const reads = await inboxReads(base, users[0]);
  db.close();
  await stopServer();
  const logScan = scanLog();
  const wallSeconds = (performance.now() - wallStart) / 1000;

  console.log(
    `\nSetup: ${USERS} users, ${EXPECTED} tasks (${tasksSeconds.toFixed(1)} s to create), ` +
      `reminders due ${DUE_FROM_MIN}–${DUE_TO_MIN} min ahead, earliest ${headroom.toFixed(1)} min ahead at the cron`,
  );
  console.log(`\nBaseline, ${HEALTH_CONNECTIONS} connections for ${HEALTH_SECONDS} s:`);
  console.log(
    table(
      ["route", "req/s", "p50 ms", "p99 ms", "max ms", "non-2xx", "errors", "timeouts"],
      [
        [
          health.route,
          fixed(health.rps, 1),
          health.p50_ms,
          health.p99_ms,
          health.max_ms,
          health.non2xx,
          health.errors,
          health.timeouts,
        ],
      ],
    ),
  );
  console.log("\nCron triggers (ms after the first was sent):");
  console.log(
    table(
      ["trigger", "sent ms", "answered ms"],
      triggers.map((t) => [t.trigger, t.sent_ms, t.answered_ms]),
    ),
  );
  console.log("\nRows per enqueue stamp (each page a cron run sends is stamped as it leaves):");
  console.log(
    table(
      ["enqueued_at (page sent)", "rows"],
      Object.entries(result.by_enqueued_at)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([at, n]) => [at, n]),
    ),
  );
  const probeMs = probes.map((p) => p.ms).sort((a, b) => a - b);
  const probeSummary = {
    count: probes.length,
    non200: probes.filter((p) => p.status !== 200).length,
    p50_ms: percentile(probeMs, 50),
    p99_ms: percentile(probeMs, 99),
    max_ms: probeMs.at(-1) ?? null,
    first_ms: probes[0]?.ms ?? null,
  };
  console.log(
    `GET /health one at a time while the cron ran and the queue drained: ${probeSummary.count} requests, ` +
      `p50 ${probeSummary.p50_ms} ms, p99 ${probeSummary.p99_ms} ms, max ${probeSummary.max_ms} ms; ` +
      `the first, sent with the 1st trigger, took ${probeSummary.first_ms} ms`,
  );
  const lat = result.latency_ms;
  console.log(`\nNotifications, cron → queue → consumer → inbox:`);
  console.log(
    table(
      [
        "rows",
        "span s",
        "notifications/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "lost",
        "duplicated",
        "not delivered",
        "unexpected",
        "/health req/s",
      ],
      [
        [
          result.rows,
          fixed(result.span_s, 1),
          fixed(result.notifications_per_s, 1),
          lat.p50,
          lat.p95,
          lat.p99,
          lat.max,
          result.lost,
          result.duplicated,
          result.not_delivered,
          result.unexpected,
          fixed(health.rps, 1),
        ],
      ],
    ),
  );
  console.log(
    `statuses ${JSON.stringify(result.by_status)}, push states ${JSON.stringify(result.by_push_state)}, ` +
      `offsets ${JSON.stringify(result.by_offset_minutes)}`,
  );
  console.log(
    `reminder claims: ${result.claims.total} (${result.claims.offset_60} at 60 min, ${result.claims.unsent} ` +
      `never enqueued); dead letters: ${result.dead_letters}; other notifications: ${result.other_notifications}`,
  );
  if (result.lost > 0)
    console.log(`lost (user|task), first ${result.lost_sample.length}: ${result.lost_sample.join(", ")}`);
  console.log(
    `API check: ${sample.sampled} users' unread-count and inbox (kind=due_soon): ` +
      (sample.wrong.length === 0
        ? `all show ${TASKS_PER_USER} reminders`
        : `${sample.wrong.length} wrong: ${JSON.stringify(sample.wrong.slice(0, 5))}`),
  );
  console.log(
    `wrangler-dev.log: ${logScan.errors} error lines, ${logScan.warnings} warnings, ${logScan.retries} retry lines` +
      (logScan.first.length > 0 ? `:\n  ${logScan.first.join("\n  ")}` : ""),
  );
  const q = logScan.queue;
  if (q) {
    console.log(
      `notifications queue (wrangler log): ${q.deliveries} deliveries of ${q.messages} messages, ` +
        `${q.not_acked} not acked (retried); a delivery took p50 ${q.batch_ms_p50} ms, ` +
        `p99 ${q.batch_ms_p99} ms, max ${q.batch_ms_max} ms`,
    );
  }
  console.log(`wall time ${wallSeconds.toFixed(0)} s`);
  console.log(
    `\nInbox reads, ${READ_CONNECTIONS} connections, ${READ_SECONDS} s each, in one pass with /health:`,
  );
  printLoadTable(reads);
  const healthRead = reads.find((r) => r.route === "GET /health");
  for (const row of reads.filter((r) => r !== healthRead)) {
    const p99 = healthRead ? row.p99_ms / healthRead.p99_ms : null;
    const meets = (row.ratio_to_health ?? 0) >= 0.6 && p99 !== null && p99 <= 1.5;
    console.log(
      `${meets ? "meets" : "MISSES"} the hot-route bar: ${row.route} at ${fixed(row.ratio_to_health, 2)}× /health's req/s, ` +
        `p99 ${fixed(p99, 2)}× /health's`,
    );
  }

  const targets = [
    { target: "lost = 0", value: result.lost, pass: result.lost === 0 },
    { target: "duplicated = 0", value: result.duplicated, pass: result.duplicated === 0 },
    {
      target: `all ${EXPECTED} in the inbox within ${TIMEOUT_SECONDS} s`,
      value: wait.rows,
      pass: wait.complete,
    },
    {
      target: `${sample.sampled} sampled inboxes show ${TASKS_PER_USER} each`,
      value: sample.wrong.length,
      pass: sample.wrong.length === 0,
    },
  ];
  console.log("\nTargets:");
  for (const t of targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.value}`);
  const ok = targets.every((t) => t.pass);

  writeResults("notifications.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: {
      users: USERS,
      tasks_per_user: TASKS_PER_USER,
      expected: EXPECTED,
      due_minutes: [DUE_FROM_MIN, DUE_TO_MIN],
      timeout_s: TIMEOUT_SECONDS,
    },
    setup: { tasks_create_s: tasksSeconds, earliest_due_min_at_cron: headroom },
    health,
    health_during: { ...probeSummary, probes },
    triggers,
    wait,
    result,
    api_sample: sample,
    wrangler_log: logScan,
    wall_s: wallSeconds,
    inbox_reads: reads,
    targets,
    ok,
  });
  return ok ? 0 : 1;
}

await runMain(main);
