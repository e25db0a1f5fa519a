// `npm run bench:webhooks`: webhook fan-out through the real path on a throwaway `wrangler dev`.
// --users users (default 50) each subscribe --hooks-per-user endpoints (default 20, the API's cap) to
// `task.created` on an in-process receiver (one path per endpoint); then --events tasks (default 10,000)
// are created over the API, spread round-robin over the users. Each task.created event goes events queue →
// webhooks fan-out → webhooks queue → consumer → receiver, once to each of its owner's endpoints.
// Everything is measured from outside, through the public API and what the receiver gets: the headers
// (`webhook-id`, signature) and the body (`timestamp` is the event's occurred_at, `data.task_id`), so the
// bench does not depend on how deliveries are stored or queued inside. See bench/README.md.
//
// Flags: --users, --hooks-per-user, --events, --idle-timeout (s without a new receipt before giving up,
// default 60), --concurrency (task creations in flight, default 10), --rate (creations/s, default 0:
// as fast as the concurrency allows). Env: BENCH_PORT.
// Exit: 0 when every delivery arrived, no endpoint got an event twice under two webhook-ids, every
// signature verified and nothing unexpected arrived; 1 otherwise, or on a setup failure.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, stripVTControlCharacters } from "node:util";
import {
  cannon,
  checkEnvironment,
  fixed,
  log,
  mapConcurrent,
  prepareState,
  registerUser,
  request,
  runMain,
  STATE_DIR,
  seconds,
  sleep,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";
import { startReceiver, wallNow } from "./webhook-receiver.mjs";

/** The API's cap on endpoints per account. */
const MAX_HOOKS_PER_USER = 20;
const EVENT_TYPE = "task.created";
const SETUP_CONCURRENCY = 10;
const HEALTH_CONNECTIONS = 50;
const HEALTH_SECONDS = 5;
const POLL_MS = 500;
const PROGRESS_MS = 10_000;
// After the last expected delivery: time for a late duplicate (a redelivered event, a retry) to show up.
const SETTLE_MS = 5000;
// Steady state: the deliveries between these fractions of all receipts (leaves out ramp-up and tail).
const STEADY_FROM = 0.1;
const STEADY_TO = 0.9;
const TIMELINE_ROWS = 20;
const WRANGLER_LOG = join(STATE_DIR, "wrangler-dev.log");

function options() {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "50" },
      "hooks-per-user": { type: "string", default: String(MAX_HOOKS_PER_USER) },
      events: { type: "string", default: "10000" },
      "idle-timeout": { type: "string", default: "60" },
      concurrency: { type: "string", default: "10" },
      rate: { type: "string", default: "0" },
    },
  });
  const int = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return value;
  };
  const config = {
    users: int("users", 1),
    hooksPerUser: int("hooks-per-user", 1),
    events: int("events", 1),
    idleTimeoutS: int("idle-timeout", 1),
    concurrency: int("concurrency", 1),
    rate: int("rate", 0),
  };
  if (config.hooksPerUser > MAX_HOOKS_PER_USER) {
    throw new Error(`--hooks-per-user is at most ${MAX_HOOKS_PER_USER}: the API caps endpoints per account`);
  }
  return config;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Registers the users and gives each `hooksPerUser` endpoints; endpoint n is user ⌊n / hooksPerUser⌋'s. */
async function setUp(base, receiver, config) {
  const started = performance.now();
  const tokens = await mapConcurrent(
    Array.from({ length: config.users }, (_, i) => i),
    SETUP_CONCURRENCY,
    () => registerUser(base, { quiet: true }),
  );
  log(`registered ${config.users} users in ${seconds(started)} s`);
  const hooksStarted = performance.now();
  const hooks = Array.from({ length: config.users * config.hooksPerUser }, (_, n) => n);
  await mapConcurrent(hooks, SETUP_CONCURRENCY, async (n) => {
    const created = await request(base, "POST", "/api/v1/webhooks", {
      token: tokens[Math.floor(n / config.hooksPerUser)],
      body: { url: receiver.urlOf(n), event_types: [EVENT_TYPE], description: `bench endpoint ${n}` },
      expected: 201,
    });
    if (typeof created?.secret !== "string" || typeof created?.webhook_id !== "string") {
      throw new Error(
        `POST /api/v1/webhooks answered 201 without webhook_id/secret:\n${JSON.stringify(created)}`,
      );
    }
    receiver.addEndpoint(n, created.secret);
  });
  log(`created ${hooks.length} webhook endpoints in ${seconds(hooksStarted)} s`);
  return tokens;
}

/**
 * Creates `config.events` tasks, event k as user k mod users, `concurrency` at a time (and at most `rate`
 * a second when set). Answers each task's owner and the pace the API kept.
 */
async function generateEvents(base, tokens, config) {
  /** @type {Map<string, number>} task id → user index */
  const owners = new Map();
  const latencies = [];
  const startedWall = wallNow();
  const started = performance.now();
  await mapConcurrent(
    Array.from({ length: config.events }, (_, k) => k),
    config.concurrency,
    async (k) => {
      if (config.rate > 0) {
        const due = started + (k / config.rate) * 1000;
        if (due > performance.now()) await sleep(due - performance.now());
      }
      const user = k % tokens.length;
      const sent = performance.now();
      const task = await request(base, "POST", "/api/v1/tasks", {
        token: tokens[user],
        body: { title: `Bench webhook event ${k}` },
        expected: 201,
      });
      latencies.push(performance.now() - sent);
      if (typeof task?.task_id !== "string") {
        throw new Error(`POST /api/v1/tasks answered 201 without task_id:\n${JSON.stringify(task)}`);
      }
      owners.set(task.task_id, user);
    },
  );
  const took = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  log(`created ${config.events} tasks in ${took.toFixed(1)} s (${(config.events / took).toFixed(0)}/s)`);
  return {
    owners,
    started_at: new Date(startedWall).toISOString(),
    ended_wall: wallNow(),
    seconds: took,
    per_s: config.events / took,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies.at(-1) ?? null,
  };
}

/** Counts the distinct expected (endpoint, task) pairs received so far. */
function distinctExpected(receipts, owners, hooksPerUser, seen, from) {
  for (let i = from; i < receipts.length; i++) {
    const r = receipts[i];
    const owner = r.task === null ? undefined : owners.get(r.task);
    if (owner === undefined || Math.floor(r.hook / hooksPerUser) !== owner) continue;
    seen.add(`${r.hook}|${r.task}`);
  }
  return receipts.length;
}

/** Waits until every expected delivery arrived (then SETTLE_MS more), or nothing arrived for the idle timeout. */
async function waitForDeliveries(receiver, generation, config, expected) {
  const seen = new Set();
  let scanned = 0;
  let lastProgress = performance.now();
  let lastCount = 0;
  for (;;) {
    scanned = distinctExpected(receiver.receipts, generation.owners, config.hooksPerUser, seen, scanned);
    if (seen.size >= expected) {
      log(`all ${expected} deliveries in; ${SETTLE_MS / 1000} s more for late duplicates`);
      await sleep(SETTLE_MS);
      return { complete: true, idle_timeout: false };
    }
    const idleSince = Math.max(receiver.lastArrival(), generation.ended_wall);
    if (wallNow() - idleSince > config.idleTimeoutS * 1000) {
      log(`ERROR nothing new for ${config.idleTimeoutS} s: ${seen.size}/${expected} deliveries in`);
      return { complete: false, idle_timeout: true };
    }
    if (performance.now() - lastProgress >= PROGRESS_MS) {
      const rate = (receiver.receipts.length - lastCount) / ((performance.now() - lastProgress) / 1000);
      log(`${seen.size}/${expected} deliveries in (${rate.toFixed(0)} receipts/s over the last 10 s)`);
      lastProgress = performance.now();
      lastCount = receiver.receipts.length;
    }
    await sleep(POLL_MS);
  }
}

/** Lost, duplicated and unexpected deliveries, latencies and rates, from the receipts alone. */
function analyse(receiver, owners, config) {
  const { receipts } = receiver;
  /** @type {Map<string, { n: number, id: string, otherIds: Set<string> | null, first: number, occurred: number }>} */
  const pairs = new Map();
  /** @type {Map<string, string>} webhook-id → the pair it was first seen on */
  const idPair = new Map();
  /** @type {Map<string, number>} task → its event's occurred_at */
  const taskOccurred = new Map();
  let unexpected = 0;
  let wrongType = 0;
  let idCollisions = 0;
  for (const r of receipts) {
    const owner = r.task === null ? undefined : owners.get(r.task);
    if (owner === undefined || Math.floor(r.hook / config.hooksPerUser) !== owner) {
      unexpected++;
      continue;
    }
    if (r.type !== EVENT_TYPE) wrongType++;
    if (!taskOccurred.has(r.task)) taskOccurred.set(r.task, r.occurred);
    const key = `${r.hook}|${r.task}`;
    const pair = pairs.get(key);
    if (!pair) {
      pairs.set(key, { n: 1, id: r.id, otherIds: null, first: r.at, occurred: r.occurred });
    } else {
      pair.n++;
      if (r.id !== pair.id) {
        pair.otherIds = pair.otherIds ?? new Set();
        pair.otherIds.add(r.id);
      }
    }
    const firstPair = idPair.get(r.id);
    if (firstPair === undefined) idPair.set(r.id, key);
    else if (firstPair !== key) idCollisions++;
  }
  const expected = owners.size * config.hooksPerUser;
  let duplicates = 0;
  let duplicatedPairs = 0;
  let differentIdPairs = 0;
  for (const pair of pairs.values()) {
    duplicates += pair.n - 1;
    if (pair.n > 1) duplicatedPairs++;
    if (pair.otherIds) differentIdPairs++;
  }
  const lostSample = [];
  for (const [task, owner] of owners) {
    for (let h = 0; h < config.hooksPerUser && lostSample.length < 10; h++) {
      const key = `${owner * config.hooksPerUser + h}|${task}`;
      if (!pairs.has(key)) lostSample.push(key);
    }
    if (lostSample.length >= 10) break;
  }

  const firsts = [...pairs.values()];
  const latencies = firsts.map((p) => p.first - p.occurred).sort((a, b) => a - b);
  const arrivals = firsts.map((p) => p.first).sort((a, b) => a - b);
  // One time per event (its endpoints' deliveries all carry the event's occurred_at).
  const eventTimes = [...taskOccurred.values()].filter((t) => !Number.isNaN(t));
  const firstEvent = eventTimes.length > 0 ? eventTimes.reduce((a, b) => Math.min(a, b)) : null;
  const lastEvent = eventTimes.length > 0 ? eventTimes.reduce((a, b) => Math.max(a, b)) : null;
  const lastReceipt = arrivals.at(-1) ?? null;
  const span = firstEvent !== null && lastReceipt !== null ? (lastReceipt - firstEvent) / 1000 : null;
  const from = Math.floor(arrivals.length * STEADY_FROM);
  const to = Math.max(from, Math.ceil(arrivals.length * STEADY_TO) - 1);
  const steadySpan = arrivals.length > 1 ? (arrivals[to] - arrivals[from]) / 1000 : 0;
  return {
    expected,
    received: receipts.length,
    unique: pairs.size,
    lost: expected - pairs.size,
    lost_sample: lostSample,
    duplicates,
    duplicated_pairs: duplicatedPairs,
    duplicates_with_different_id: differentIdPairs,
    webhook_id_shared_by_pairs: idCollisions,
    unexpected,
    wrong_type: wrongType,
    bad_signatures: receiver.problems.bad_signature,
    unknown_endpoint: receiver.problems.unknown_endpoint,
    bad_body: receiver.problems.bad_body,
    problem_reasons: receiver.problems.reasons,
    first_event_at: firstEvent === null ? null : new Date(firstEvent).toISOString(),
    last_event_at: lastEvent === null ? null : new Date(lastEvent).toISOString(),
    last_receipt_at: lastReceipt === null ? null : new Date(lastReceipt).toISOString(),
    span_s: span,
    deliveries_per_s: span ? pairs.size / span : null,
    steady: {
      from_fraction: STEADY_FROM,
      to_fraction: STEADY_TO,
      deliveries: to - from,
      span_s: steadySpan,
      deliveries_per_s: steadySpan > 0 ? (to - from) / steadySpan : null,
    },
    latency_ms: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? null,
      min: latencies[0] ?? null,
    },
    events_seen: eventTimes.length,
    timeline: timeline(eventTimes, arrivals, firstEvent),
  };
}

/** Events (by occurred_at) and first receipts per second since the first event. */
function timeline(eventTimes, arrivals, firstEvent) {
  if (firstEvent === null) return [];
  const rows = [];
  const bump = (t, field) => {
    const s = Math.max(0, Math.floor((t - firstEvent) / 1000));
    for (let i = rows.length; i <= s; i++) rows.push({ second: i, events: 0, deliveries: 0 });
    rows[s][field]++;
  };
  for (const t of eventTimes) bump(t, "events");
  for (const t of arrivals) bump(t, "deliveries");
  return rows;
}

/** The queues' deliveries as wrangler dev logs them: `QUEUE <queue> <acked>/<messages> (<ms>ms)`. */
function scanQueues() {
  let text = "";
  try {
    text = readFileSync(WRANGLER_LOG, "utf8");
  } catch {
    return {};
  }
  const lines = stripVTControlCharacters(text).split("\n");
  const queues = {};
  for (const line of lines) {
    const m = /QUEUE (\S+) (\d+)\/(\d+) \((\d+)ms\)/.exec(line);
    if (!m) continue;
    if (!queues[m[1]]) queues[m[1]] = { batches: 0, messages: 0, acked: 0, batch_ms: [] };
    const q = queues[m[1]];
    q.batches++;
    q.acked += Number(m[2]);
    q.messages += Number(m[3]);
    q.batch_ms.push(Number(m[4]));
  }
  const errors = lines.filter((l) => /"level":"error"|✘|\bERROR\b|Uncaught/.test(l));
  const summary = {
    error_lines: errors.length,
    first_errors: errors.slice(0, 5).map((l) => l.slice(0, 300)),
  };
  for (const [name, q] of Object.entries(queues)) {
    const sorted = [...q.batch_ms].sort((a, b) => a - b);
    const busy = sorted.reduce((sum, ms) => sum + ms, 0);
    summary[name] = {
      batches: q.batches,
      messages: q.messages,
      not_acked: q.messages - q.acked,
      mean_batch: q.batches > 0 ? q.messages / q.batches : null,
      batch_ms_p50: percentile(sorted, 50),
      batch_ms_p99: percentile(sorted, 99),
      batch_ms_max: sorted.at(-1) ?? null,
      busy_s: busy / 1000,
      // Messages per second of consumer time: what one consumer running batches back to back could do.
      messages_per_busy_s: busy > 0 ? q.messages / (busy / 1000) : null,
    };
  }
  return summary;
}

/** The timeline in at most TIMELINE_ROWS rows of equal width: events/s and deliveries/s in each. */
function printTimeline(rows) {
  if (rows.length === 0) return;
  const width = Math.max(1, Math.ceil(rows.length / TIMELINE_ROWS));
  const out = [];
  for (let s = 0; s < rows.length; s += width) {
    const slice = rows.slice(s, s + width);
    const sum = (field) => slice.reduce((n, r) => n + r[field], 0);
    out.push([
      `${s}–${s + slice.length} s`,
      fixed(sum("events") / slice.length, 1),
      fixed(sum("deliveries") / slice.length, 1),
    ]);
  }
  console.log(`\nTimeline from the first event (${width} s a row):`);
  console.log(table(["seconds", "events/s", "deliveries/s"], out));
}

async function main() {
  checkEnvironment("npm run bench:webhooks");
  const config = options();
  const subscriptions = config.users * config.hooksPerUser;
  const expected = config.events * config.hooksPerUser;
  log(
    `config: ${config.users} users × ${config.hooksPerUser} endpoints = ${subscriptions} subscriptions to ` +
      `${EVENT_TYPE}; ${config.events} events → ${expected} deliveries; ${config.concurrency} creations in ` +
      `flight${config.rate > 0 ? `, at most ${config.rate}/s` : ""}; idle timeout ${config.idleTimeoutS} s`,
  );
  const wallStart = performance.now();
  prepareState();
  const receiver = await startReceiver();
  log(`receiver listening at ${receiver.base}/hook/<n>`);
  const base = await startServer({ WEBHOOKS_ALLOW_LOCAL: "true" });
  const tokens = await setUp(base, receiver, config);

  log(`baseline: GET /health, ${HEALTH_CONNECTIONS} connections for ${HEALTH_SECONDS} s`);
  const healthRoute = { name: "GET /health", method: "GET", path: "/health" };
  await cannon(base, healthRoute, HEALTH_CONNECTIONS, 1);
  const health = await cannon(base, healthRoute, HEALTH_CONNECTIONS, HEALTH_SECONDS);
  if (health.non2xx > 0) throw new Error(`GET /health answered ${health.non2xx} non-2xx`);
  if (receiver.receipts.length > 0)
    throw new Error("deliveries arrived before any event: the counts would be off");

  log(`creating ${config.events} tasks (${EVENT_TYPE} events) over ${config.users} users`);
  const generation = await generateEvents(base, tokens, config);
  const wait = await waitForDeliveries(receiver, generation, config, expected);
  await stopServer();
  await receiver.close();
  const result = analyse(receiver, generation.owners, config);
  const queues = scanQueues();
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const steadyRate = result.steady.deliveries_per_s;
  const ratio = steadyRate !== null && health.rps > 0 ? steadyRate / health.rps : null;

  console.log(
    `\nSetup: ${config.users} users, ${subscriptions} endpoints on ${EVENT_TYPE}; ${config.events} tasks created in ` +
      `${generation.seconds.toFixed(1)} s (${generation.per_s.toFixed(1)}/s, round trip p50 ` +
      `${fixed(generation.p50_ms, 0)} ms, p99 ${fixed(generation.p99_ms, 0)} ms, ${config.concurrency} in flight)`,
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
  console.log("\nDeliveries, events queue → fan-out → webhooks queue → consumer → receiver:");
  console.log(
    table(
      [
        "events",
        "subscriptions",
        "expected",
        "received",
        "unique",
        "lost",
        "duplicates",
        "dup. other id",
        "bad signatures",
        "unexpected",
      ],
      [
        [
          config.events,
          subscriptions,
          result.expected,
          result.received,
          result.unique,
          result.lost,
          result.duplicates,
          result.duplicates_with_different_id,
          result.bad_signatures,
          result.unexpected + result.unknown_endpoint + result.bad_body + result.wrong_type,
        ],
      ],
    ),
  );
  const lat = result.latency_ms;
  console.log(
    table(
      [
        "span s",
        "deliveries/s",
        "steady deliveries/s",
        "/health req/s",
        "steady ÷ /health",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
      ],
      [
        [
          fixed(result.span_s, 1),
          fixed(result.deliveries_per_s, 1),
          fixed(steadyRate, 1),
          fixed(health.rps, 1),
          fixed(ratio, 2),
          fixed(lat.p50, 0),
          fixed(lat.p95, 0),
          fixed(lat.p99, 0),
          fixed(lat.max, 0),
        ],
      ],
    ),
  );
  console.log(
    `span: first event (its occurred_at) to last receipt; steady: receipts ${STEADY_FROM * 100}–${STEADY_TO * 100}% ` +
      `(${result.steady.deliveries} in ${fixed(result.steady.span_s, 1)} s); latency: occurred_at to the ` +
      `first receipt of each (endpoint, task). Duplicated pairs ${result.duplicated_pairs}, a webhook-id on ` +
      `two pairs ${result.webhook_id_shared_by_pairs}, unknown endpoint ${result.unknown_endpoint}, body ` +
      `without task ${result.bad_body}, another type ${result.wrong_type}.`,
  );
  if (Object.keys(result.problem_reasons).length > 0) {
    console.log(`receiver problems: ${JSON.stringify(result.problem_reasons)}`);
  }
  if (result.lost > 0)
    console.log(`lost (endpoint|task), first ${result.lost_sample.length}: ${result.lost_sample.join(", ")}`);
  printTimeline(result.timeline);
  const queueRows = Object.entries(queues).filter(([name]) => name.startsWith("pap-"));
  if (queueRows.length > 0) {
    console.log("\nQueues (wrangler dev's log):");
    console.log(
      table(
        [
          "queue",
          "batches",
          "messages",
          "not acked",
          "mean batch",
          "batch p50 ms",
          "batch p99 ms",
          "busy s",
          "msgs/busy s",
        ],
        queueRows.map(([name, q]) => [
          name,
          q.batches,
          q.messages,
          q.not_acked,
          fixed(q.mean_batch, 1),
          q.batch_ms_p50,
          q.batch_ms_p99,
          fixed(q.busy_s, 1),
          fixed(q.messages_per_busy_s, 0),
        ]),
      ),
    );
  }
  console.log(
    `wrangler-dev.log: ${queues.error_lines ?? 0} error lines${queues.first_errors?.length ? `:\n  ${queues.first_errors.join("\n  ")}` : ""}`,
  );
  console.log(`wall time ${wallSeconds.toFixed(0)} s`);

  const targets = [
    { target: "lost = 0", value: result.lost, pass: result.lost === 0 },
    {
      target: "duplicates only with the same webhook-id",
      value: result.duplicates_with_different_id,
      pass: result.duplicates_with_different_id === 0 && result.webhook_id_shared_by_pairs === 0,
    },
    { target: "bad signatures = 0", value: result.bad_signatures, pass: result.bad_signatures === 0 },
    {
      target: "nothing unexpected",
      value: result.unexpected + result.unknown_endpoint + result.bad_body + result.wrong_type,
      pass: result.unexpected + result.unknown_endpoint + result.bad_body + result.wrong_type === 0,
    },
    { target: `all ${expected} before the idle timeout`, value: result.unique, pass: wait.complete },
  ];
  console.log("\nTargets:");
  for (const t of targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.value}`);
  const ok = targets.every((t) => t.pass);

  const { owners: _owners, ...generationSummary } = generation;
  writeResults("webhooks.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: { ...config, subscriptions, expected, event_type: EVENT_TYPE },
    health,
    generation: generationSummary,
    wait,
    result,
    ratio_steady_to_health: ratio,
    queues,
    wall_s: wallSeconds,
    targets,
    ok,
  });
  return ok ? 0 : 1;
}

await runMain(main);
