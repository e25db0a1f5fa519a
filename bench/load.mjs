// `npm run load`: scripted user flows ("mixes") against a throwaway `wrangler dev --local`, each run by
// LOAD_USERS virtual users at once (every one its own user, one flow after another, no think time) for
// LOAD_DURATION seconds. GET /health/live once, and GET /health right before each mix, are run the same
// way by the same client; each mix's p99 is held to a multiple of that /health pass's p99 (the load
// generator and wrangler dev share the machine's CPU, so only ratios within one run mean anything).
//
// Mixes (one after another, the server left to go quiet in between):
//   browsing  GET /api/v1/tasks?limit=10 and its next pages (Link), one task, GET /gamification/me,
//             /gamification/badges, /auth/me, /pets/me, /pets/level/me/status
//   capture   POST /api/v1/capture (one line of text) and POST /api/v1/tasks, each with an Idempotency-Key;
//             every other flow retries one of them with the same key: the first answer must come back
//   focus     POST /focus/ws-ticket, the focus socket opened with it (hello), then start, pause, resume,
//             finish over HTTP, each change checked on the socket (gap-free seq), then the socket closed
//   steps     a task with 3–5 micro-steps (one flow in four: a bare task split by the local splitter),
//             each step completed, then the task; after the mix every user must have gained XP
//
// Per mix: requests, req/s, p50/p95/p99/max, unexpected errors (a status the flow did not expect, a
// network error or timeout, a failed check), socket loss (focus), p99 ÷ /health's p99, and per step the
// server's own time and D1 trips (Server-Timing). Results go to stdout and bench/results/load-latest.json.
//
// Env: LOAD_USERS (50), LOAD_DURATION (s per mix, 10), LOAD_HEALTH_DURATION (s, 5), LOAD_WARMUP (s, 2),
// LOAD_MIXES (e.g. "browsing,focus"), LOAD_SEED_TASKS (21), LOAD_TIMEOUT_MS (15000); thresholds:
// LOAD_MAX_ERROR_RATE (% of requests, 0), LOAD_MAX_SOCKET_LOSS (%, 0.1), LOAD_MAX_P99_X_HEALTH (every
// mix) or LOAD_MAX_P99_X_BROWSING / _CAPTURE / _FOCUS / _STEPS. See bench/README.md ("npm run load").
//
// Exit: 0 when every threshold holds; 1 on a breach (each printed), a reload of the Worker during the
// run (wrangler dev restarts it when a source file changes), or a setup failure.
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  checkEnvironment,
  fixed,
  log,
  mapConcurrent,
  nonNegativeNumber,
  positiveInt,
  prepareState,
  registerUser,
  request,
  runMain,
  STATE_DIR,
  seconds,
  serverCpuSeconds,
  sleep,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";
import { call, FocusSocket, stats } from "./live.mjs";

const USERS = positiveInt("LOAD_USERS", 50);
const DURATION = positiveInt("LOAD_DURATION", 10);
const HEALTH_DURATION = positiveInt("LOAD_HEALTH_DURATION", 5);
const WARMUP = nonNegativeNumber("LOAD_WARMUP", 2);
const SEED_TASKS = positiveInt("LOAD_SEED_TASKS", 21);
const PAGE_SIZE = 10;
const PAGES = 3;
const REQUEST_TIMEOUT_MS = positiveInt("LOAD_TIMEOUT_MS", 15_000);
const MESSAGE_TIMEOUT_MS = 10_000;
const SETUP_CONCURRENCY = 20;
const XP_WAIT_S = 60;
/** The server counts as quiet (queues drained) when it used less than this share of one core over 1 s. */
const QUIET_CPU_SHARE = 0.15;
const SETTLE_MAX_S = 30;
const SLOWEST = 10;
const RUN_STARTED = performance.now();

/**
 * Default p99 limits, as multiples of /health's p99 in the same run (bench/README.md says how they
 * were chosen); LOAD_MAX_P99_X_HEALTH sets one for every mix, LOAD_MAX_P99_X_<MIX> one mix's.
 */
const DEFAULT_P99_X_HEALTH = { browsing: 3, capture: 4, focus: 5, steps: 6 };
const MAX_ERROR_PERCENT = nonNegativeNumber("LOAD_MAX_ERROR_RATE", 0);
const MAX_SOCKET_LOSS_PERCENT = nonNegativeNumber("LOAD_MAX_SOCKET_LOSS", 0.1);

function p99Limit(mix) {
  const own = process.env[`LOAD_MAX_P99_X_${mix.toUpperCase()}`];
  if (own !== undefined && own !== "") return nonNegativeNumber(`LOAD_MAX_P99_X_${mix.toUpperCase()}`, 0);
  return nonNegativeNumber("LOAD_MAX_P99_X_HEALTH", DEFAULT_P99_X_HEALTH[mix]);
}

// ---- recording --------------------------------------------------------------------------------------

/** Thrown to end a flow early; what went wrong is already recorded. */
class FlowAbort extends Error {}

/** Server-Timing's `total;dur=` and `d1-trips;desc=` of an answer (null when absent). */
function serverTiming(header) {
  if (!header) return { total: null, trips: null };
  const total = /(?:^|,\s*)total;dur=([\d.]+)/.exec(header);
  const trips = /d1-trips;desc=(\d+)/.exec(header);
  return { total: total ? Number(total[1]) : null, trips: trips ? Number(trips[1]) : null };
}

/**
 * What one phase (a mix, or a /health route) saw. Latencies count only for requests started in the
 * measured window (after the warm-up, before the end); errors count over the whole phase, warm-up too.
 */
class Phase {
  constructor(name, users, duration) {
    this.name = name;
    this.users = users;
    this.duration = duration;
    this.requests = 0;
    this.flows = 0;
    this.errors = 0;
    /** Errors by step and kind ("HTTP 500", "network", …): how many, and the first one's message. */
    this.examples = new Map();
    this.latencies = [];
    this.steps = new Map();
    /** Per second of the measured window: answers, summed latency, slowest. */
    this.timeline = [];
    /** The slowest answers of the measured window (kept to SLOWEST). */
    this.slowest = [];
    this.socket = { opened: 0, dropped: 0, expected: 0, missed: 0, gaps: 0, deliveries: [] };
  }

  begin() {
    this.startedAt = performance.now();
    this.measureFrom = this.startedAt + WARMUP * 1000;
    this.measureUntil = this.measureFrom + this.duration * 1000;
  }

  get over() {
    return performance.now() >= this.measureUntil;
  }

  measured(started) {
    return started >= this.measureFrom && started < this.measureUntil;
  }

  step(name) {
    let step = this.steps.get(name);
    if (!step) {
      step = { name, requests: 0, latencies: [], server_ms: [], trips: [], codes: {}, errors: 0 };
      this.steps.set(name, step);
    }
    return step;
  }

  /** A request that got an answer (or, with `ms` null, none). */
  record(stepName, started, ms, status, timing) {
    this.requests++;
    const step = this.step(stepName);
    step.requests++;
    const code = status ?? "network";
    step.codes[code] = (step.codes[code] ?? 0) + 1;
    if (ms === null || !this.measured(started)) return;
    this.latencies.push(ms);
    step.latencies.push(ms);
    const second = Math.floor((started - this.measureFrom) / 1000);
    for (let k = this.timeline.length; k <= second; k++)
      this.timeline.push({ answers: 0, sum_ms: 0, max_ms: 0 });
    const bucket = this.timeline[second];
    bucket.answers++;
    bucket.sum_ms += ms;
    bucket.max_ms = Math.max(bucket.max_ms, ms);
    if (this.slowest.length < SLOWEST || ms > this.slowest[this.slowest.length - 1].ms) {
      this.slowest.push({
        step: stepName,
        at_s: (started - this.measureFrom) / 1000,
        ms,
        server_ms: timing.total,
        status,
      });
      this.slowest.sort((a, b) => b.ms - a.ms);
      this.slowest.length = Math.min(this.slowest.length, SLOWEST);
    }
    if (timing.total !== null) step.server_ms.push(timing.total);
    if (timing.trips !== null) step.trips.push(timing.trips);
  }

  error(stepName, message) {
    this.errors++;
    this.step(stepName).errors++;
    const key = `${stepName} ${/^(HTTP \d+|network|a body)/.exec(message)?.[1] ?? message}`;
    const seen = this.examples.get(key);
    if (seen) seen.count++;
    else this.examples.set(key, { step: stepName, count: 1, first: message });
  }
}

/** One virtual user's view of the API: every request timed, recorded and checked against what it expects. */
class Client {
  constructor(base, user, vu, phase) {
    this.base = base;
    this.user = user;
    this.vu = vu;
    this.phase = phase;
  }

  /**
   * Sends one request as the user; `expect` lists the statuses the flow accepts (anything else is an
   * unexpected error and ends the flow). Returns { status, headers, json }.
   */
  async send(stepName, method, path, { body, key, expect = [200], auth = true } = {}) {
    const headers = { accept: "application/json" };
    if (auth) headers.authorization = `Bearer ${this.user.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    if (key !== undefined) headers["idempotency-key"] = key;
    this.stopIfOver();
    const started = performance.now();
    let res;
    let text;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (error) {
      this.phase.record(stepName, started, null, null, null);
      this.phase.error(stepName, `network: ${error instanceof Error ? error.message : String(error)}`);
      throw new FlowAbort();
    }
    const ms = performance.now() - started;
    this.phase.record(stepName, started, ms, res.status, serverTiming(res.headers.get("server-timing")));
    if (!expect.includes(res.status)) {
      this.phase.error(stepName, `HTTP ${res.status} (expected ${expect.join("/")}): ${text.slice(0, 300)}`);
      throw new FlowAbort();
    }
    let json = null;
    if (text !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        this.phase.error(stepName, `a body that is not JSON: ${text.slice(0, 200)}`);
        throw new FlowAbort();
      }
    }
    return { status: res.status, headers: res.headers, json };
  }

  /** Once the phase is over a flow stops at its next request (not an error), so the phase ends on time. */
  stopIfOver() {
    if (this.phase.over) throw new FlowAbort();
  }

  /** A check of what the flow got back; a failed one is an unexpected error and ends the flow. */
  check(ok, stepName, message) {
    if (ok) return;
    this.phase.error(stepName, message);
    throw new FlowAbort();
  }

  /** The focus socket, opened with a one-time ticket as a browser does; null (counted) if it fails. */
  async openFocusSocket(url) {
    const socket = new FocusSocket(
      `${this.base.replace(/^http/, "ws")}${url}`,
      ["pap.focus.v1"],
      `vu${this.vu}`,
      {
        timeoutMs: MESSAGE_TIMEOUT_MS,
      },
    );
    const started = performance.now();
    this.phase.socket.opened++;
    try {
      await socket.hello;
    } catch {
      this.phase.socket.dropped++;
      this.phase.record("WS /api/v1/focus/ws?ticket (upgrade → hello)", started, null, null, null);
      socket.close();
      return null;
    }
    this.phase.record(
      "WS /api/v1/focus/ws?ticket (upgrade → hello)",
      started,
      performance.now() - started,
      101,
      { total: null, trips: null },
    );
    return socket;
  }
}

// ---- the flows ---------------------------------------------------------------------------------------

const CAPTURE_LINES = [
  "Call mom tomorrow 5pm !high #family ~15m",
  "Pay the electricity bill friday #bills ~5m",
  "Email Dana about the contract !urgent ~10m",
  "Buy groceries tonight #errands ~30m",
  "Book a dentist appointment next week ~5m",
  "Water the plants #home ~5m",
  "Send the invoice to Acme by monday !high #work",
  "Renew the library books tomorrow ~10m",
];
const TASK_TITLES = [
  "Plan the week",
  "Tidy the desk",
  "Reply to the landlord",
  "Sort the photos",
  "Walk the dog",
];
// Titles the local splitter answers with micro-steps (not a project of sub-tasks).
const SPLIT_TITLES = ["Reply to Dana about the contract", "Clean the kitchen", "Write the weekly report"];

const pick = (list, n) => list[n % list.length];

/** A user's tasks (the seed): a page of PAGE_SIZE, the next pages through the Link header, one task. */
async function browsing(client, n) {
  let path = `/api/v1/tasks?limit=${PAGE_SIZE}`;
  const seen = new Set();
  let first;
  for (let page = 1; page <= PAGES && path; page++) {
    const answer = await client.send(`GET /api/v1/tasks?limit=${PAGE_SIZE} (page ${page})`, "GET", path);
    client.check(Array.isArray(answer.json), "GET /api/v1/tasks", "the page is not an array");
    for (const task of answer.json) seen.add(task.task_id);
    first ??= answer.json;
    path = /<([^>]+)>;\s*rel="next"/.exec(answer.headers.get("link") ?? "")?.[1];
  }
  const wanted = Math.min(SEED_TASKS, PAGES * PAGE_SIZE);
  client.check(
    seen.size >= wanted,
    "GET /api/v1/tasks",
    `${seen.size} distinct tasks over the pages, expected ≥ ${wanted}`,
  );
  const taskId = pick(first, n).task_id;
  const task = await client.send("GET /api/v1/tasks/{id}", "GET", `/api/v1/tasks/${taskId}`);
  client.check(task.json?.task_id === taskId, "GET /api/v1/tasks/{id}", "another task came back");
  await client.send("GET /api/v1/gamification/me", "GET", "/api/v1/gamification/me");
  await client.send("GET /api/v1/gamification/badges", "GET", "/api/v1/gamification/badges");
  await client.send("GET /api/v1/auth/me", "GET", "/api/v1/auth/me");
  const pet = await client.send("GET /api/v1/pets/me", "GET", "/api/v1/pets/me");
  client.check(typeof pet.json?.pet_id === "string", "GET /api/v1/pets/me", "no pet_id");
  await client.send("GET /api/v1/pets/level/me/status", "GET", "/api/v1/pets/level/me/status");
}

/** Quick capture and a task create, each with a fresh Idempotency-Key; one in two flows retries one. */
async function capture(client, n) {
  const captureBody = { text: pick(CAPTURE_LINES, n + client.vu) };
  const captureKey = randomUUID();
  const captured = await client.send("POST /api/v1/capture", "POST", "/api/v1/capture", {
    body: captureBody,
    key: captureKey,
    expect: [201],
  });
  const createBody = {
    title: pick(TASK_TITLES, n),
    priority: "medium",
    tags: ["load"],
    estimated_minutes: 15,
  };
  const createKey = randomUUID();
  const created = await client.send("POST /api/v1/tasks", "POST", "/api/v1/tasks", {
    body: createBody,
    key: createKey,
    expect: [201],
  });
  if (n % 2 === 0) return;
  // A client whose answer got lost sends the same request again: it must get the first answer back.
  const [name, path, body, key, first] =
    n % 4 === 1
      ? ["POST /api/v1/capture (retry)", "/api/v1/capture", captureBody, captureKey, captured]
      : ["POST /api/v1/tasks (retry)", "/api/v1/tasks", createBody, createKey, created];
  const again = await client.send(name, "POST", path, { body, key, expect: [201] });
  client.check(
    again.headers.get("idempotent-replayed") === "true" && again.json?.task_id === first.json?.task_id,
    name,
    `not a replay of the first answer (Idempotent-Replayed: ${again.headers.get("idempotent-replayed")}, ` +
      `task ${again.json?.task_id} vs ${first.json?.task_id})`,
  );
}

const FOCUS_ACTIONS = [
  [
    "POST /api/v1/focus/enhanced/start",
    "/api/v1/focus/enhanced/start",
    { kind: "custom", duration_minutes: 25 },
    201,
    "started",
  ],
  ["POST /api/v1/focus/enhanced/pause", "/api/v1/focus/enhanced/pause", {}, 200, "paused"],
  ["POST /api/v1/focus/enhanced/resume", "/api/v1/focus/enhanced/resume", {}, 200, "resumed"],
  [
    "POST /api/v1/focus/enhanced/finish",
    "/api/v1/focus/enhanced/finish",
    { take_break: false },
    200,
    "finished",
  ],
];

/** A focus session with the app open: ticket, socket, start, pause, resume, finish, each seen on the socket. */
async function focus(client) {
  const ticket = await client.send("POST /api/v1/focus/ws-ticket", "POST", "/api/v1/focus/ws-ticket", {
    expect: [201],
  });
  const socket = await client.openFocusSocket(ticket.json.url);
  if (!socket) throw new FlowAbort();
  const { socket: counts } = client.phase;
  try {
    for (const [name, path, body, status, event] of FOCUS_ACTIONS) {
      client.stopIfOver();
      const arrival = socket.expect(event);
      counts.expected++;
      client.sessionOpen = true;
      const sent = performance.now();
      await client.send(name, "POST", path, { body, expect: [status] });
      const at = await arrival;
      if (at === null) counts.missed++;
      else if (client.phase.measured(sent)) counts.deliveries.push(at - sent);
    }
    client.sessionOpen = false;
  } finally {
    if (socket.dropped) counts.dropped++;
    counts.gaps += socket.gaps;
    socket.close();
  }
}

/** After a focus flow that stopped midway: the session is abandoned, so the next start is not refused. */
async function focusCleanup(client) {
  if (!client.sessionOpen) return;
  await call(client.base, "POST", "/api/v1/focus/enhanced/abandon", client.user.token, {}).catch(() => {});
  client.sessionOpen = false;
}

/** A task broken into micro-steps (given, or by the splitter), done step by step, then completed. */
async function steps(client, n) {
  let task;
  if ((n + client.vu) % 4 === 3) {
    const bare = await client.send("POST /api/v1/tasks", "POST", "/api/v1/tasks", {
      body: { title: pick(SPLIT_TITLES, n), priority: "high" },
      key: randomUUID(),
      expect: [201],
    });
    const split = await client.send(
      "POST /api/v1/tasks/{id}/split",
      "POST",
      `/api/v1/tasks/${bare.json.task_id}/split`,
      {
        body: { splitter: "local", apply: true },
        key: randomUUID(),
      },
    );
    task = split.json?.task;
  } else {
    const count = 3 + (n % 3);
    const created = await client.send("POST /api/v1/tasks (with micro-steps)", "POST", "/api/v1/tasks", {
      body: {
        title: pick(TASK_TITLES, n),
        priority: "high",
        estimated_minutes: 5 * count,
        micro_steps: Array.from({ length: count }, (_, k) => ({
          description: `Step ${k + 1}`,
          estimated_minutes: 5,
        })),
      },
      key: randomUUID(),
      expect: [201],
    });
    task = created.json;
  }
  const taskSteps = task?.micro_steps ?? [];
  client.check(
    taskSteps.length >= 3,
    "micro-steps",
    `the task has ${taskSteps.length} micro-steps, expected ≥ 3`,
  );
  let last;
  for (const step of taskSteps) {
    last = await client.send(
      "POST /api/v1/tasks/{id}/steps/{id}/complete",
      "POST",
      `/api/v1/tasks/${task.task_id}/steps/${step.step_id}/complete`,
      { body: {} },
    );
  }
  client.check(
    last.json?.status === "completed",
    "POST …/steps/{id}/complete",
    `task ${last.json?.status} after its last step`,
  );
  const done = await client.send(
    "POST /api/v1/tasks/{id}/complete",
    "POST",
    `/api/v1/tasks/${task.task_id}/complete`,
  );
  client.check(
    done.json?.status === "completed",
    "POST /api/v1/tasks/{id}/complete",
    `task ${done.json?.status}`,
  );
  client.user.completed = (client.user.completed ?? 0) + 1;
}

async function health(client) {
  await client.send("GET /health", "GET", "/health", { auth: false });
}

async function live(client) {
  await client.send("GET /health/live", "GET", "/health/live", { auth: false });
}

const MIXES = [
  { name: "browsing", flow: browsing },
  { name: "capture", flow: capture },
  { name: "focus", flow: focus, cleanup: focusCleanup },
  { name: "steps", flow: steps },
];

// ---- running -----------------------------------------------------------------------------------------

const WRANGLER_LOG = join(STATE_DIR, "wrangler-dev.log");
const logSize = () => (existsSync(WRANGLER_LOG) ? statSync(WRANGLER_LOG).size : 0);

/** What wrangler dev logged between two sizes of its log. */
function logBetween(from, to) {
  if (to <= from) return "";
  const fd = openSync(WRANGLER_LOG, "r");
  const buffer = Buffer.alloc(to - from);
  readSync(fd, buffer, 0, buffer.length, from);
  closeSync(fd);
  return buffer.toString("utf8");
}

/**
 * The queue deliveries in a stretch of wrangler dev's log (`QUEUE <queue> <acked>/<messages> (<ms>ms)`),
 * per queue: deliveries, messages, and the consumer's time. Locally the consumers run in the Worker's
 * own isolate, so this time is taken from the requests of the phase.
 */
function queueActivity(text) {
  const queues = {};
  for (const m of text.matchAll(/QUEUE (\S+) (\d+)\/(\d+) \((\d+)ms\)/g)) {
    queues[m[1]] ??= { deliveries: 0, messages: 0, busy_ms: 0, slowest_ms: 0 };
    const q = queues[m[1]];
    q.deliveries++;
    q.messages += Number(m[3]);
    q.busy_ms += Number(m[4]);
    q.slowest_ms = Math.max(q.slowest_ms, Number(m[4]));
  }
  return queues;
}

/**
 * wrangler dev rebuilds and restarts the Worker when a source file changes (it has no flag to stop
 * watching): a phase it happened in measured a restart (cold isolates, lost sockets), not the API.
 */
const reloadsIn = (text) => text.match(/Reloading local server/g)?.length ?? 0;

/** Every user runs `flow` again and again (as their own virtual user) until the phase is over. */
async function runPhase(base, users, name, flow, cleanup, duration) {
  const phase = new Phase(name, users.length, duration);
  log(
    `${name}: ${users.length} virtual users, ${WARMUP} s warm-up + ${duration} s (${seconds(RUN_STARTED)} s in)`,
  );
  const logFrom = logSize();
  const cpuFrom = serverCpuSeconds();
  phase.begin();
  await Promise.all(
    users.map(async (user, vu) => {
      const client = new Client(base, user, vu, phase);
      // The users start one after another over the warm-up, not all in the same millisecond.
      await sleep((vu * WARMUP * 1000) / users.length);
      for (let n = 0; !phase.over; n++) {
        try {
          await flow(client, n);
          phase.flows++;
        } catch (error) {
          if (!(error instanceof FlowAbort)) {
            phase.error("flow", error instanceof Error ? error.message : String(error));
          }
          if (cleanup) await cleanup(client);
        }
      }
    }),
  );
  phase.elapsed_s = (performance.now() - phase.startedAt) / 1000;
  const cpuTo = serverCpuSeconds();
  const logged = logBetween(logFrom, logSize());
  phase.reloads = reloadsIn(logged);
  phase.queues = queueActivity(logged);
  // A restarted workerd's CPU time starts again from 0: no figure then.
  phase.cpu_ms_per_request =
    cpuFrom === null || cpuTo === null || phase.reloads > 0
      ? null
      : ((cpuTo - cpuFrom) * 1000) / Math.max(phase.requests, 1);
  return phase;
}

/** Waits until the server has gone quiet (queues drained, write-behind done), at most SETTLE_MAX_S. */
async function settle(label) {
  const started = performance.now();
  let before = serverCpuSeconds();
  if (before === null) {
    await sleep(3000);
    return null;
  }
  while ((performance.now() - started) / 1000 < SETTLE_MAX_S) {
    await sleep(1000);
    const now = serverCpuSeconds();
    if (now - before < QUIET_CPU_SHARE) break;
    before = now;
  }
  const waited = (performance.now() - started) / 1000;
  log(`${label}: the server went quiet in ${waited.toFixed(1)} s`);
  return waited;
}

/** One registered user with SEED_TASKS tasks of 3 micro-steps and a pet. */
async function setUpUser(base, i) {
  const token = await registerUser(base, { quiet: true });
  for (let t = 1; t <= SEED_TASKS; t++) {
    await request(base, "POST", "/api/v1/tasks", {
      token,
      body: {
        title: `Seeded task ${t}`,
        priority: pick(["low", "medium", "high"], t),
        tags: ["seed"],
        micro_steps: [{ description: "First" }, { description: "Second" }, { description: "Third" }],
      },
      expected: 201,
    });
  }
  await request(base, "POST", "/api/v1/pets", {
    token,
    body: { species: pick(["dog", "cat", "dragon", "owl", "fox"], i), name: `Buddy ${i}` },
    expected: 201,
  });
  return { token };
}

const totalXp = (base, users) =>
  mapConcurrent(users, SETUP_CONCURRENCY, async (user) => {
    const me = await request(base, "GET", "/api/v1/gamification/me", { token: user.token, expected: 200 });
    return me.total_xp;
  });

/** After the steps mix: every user who completed a task must have gained XP (the events queue grants it). */
async function checkXp(base, users, before) {
  const started = performance.now();
  const credited = users.filter((u) => u.completed > 0);
  let pending = credited.map((u) => users.indexOf(u));
  while (pending.length > 0 && (performance.now() - started) / 1000 < XP_WAIT_S) {
    const now = await totalXp(
      base,
      pending.map((i) => users[i]),
    );
    pending = pending.filter((i, k) => !(now[k] > before[i]));
    if (pending.length > 0) await sleep(1000);
  }
  return { users: credited.length, missing: pending.length, waited_s: (performance.now() - started) / 1000 };
}

/** A phase's row; `healthRow` is the /health pass it is compared with (null for /health itself). */
function summarize(phase, healthRow) {
  const s = stats(phase.latencies);
  const { socket } = phase;
  const socketEvents = socket.opened + socket.expected;
  const row = {
    mix: phase.name,
    users: phase.users,
    duration_s: phase.duration,
    flows: phase.flows,
    requests: phase.requests,
    measured_requests: s.count,
    rps: s.count / phase.duration,
    p50_ms: s.p50_ms,
    p95_ms: s.p95_ms,
    p99_ms: s.p99_ms,
    max_ms: s.max_ms,
    errors: phase.errors,
    error_percent: phase.requests > 0 ? (100 * phase.errors) / phase.requests : 0,
    error_examples: [...phase.examples.values()],
    p99_x_health: healthRow ? s.p99_ms / healthRow.p99_ms : null,
    health: healthRow
      ? { p99_ms: healthRow.p99_ms, cpu_ms_per_request: healthRow.server_cpu_ms_per_request }
      : null,
    server_cpu_ms_per_request: phase.cpu_ms_per_request,
    server_reloads: phase.reloads,
    queues: phase.queues,
    slowest: phase.slowest,
    timeline: phase.timeline.map((b) => ({
      answers: b.answers,
      mean_ms: b.answers > 0 ? Math.round(b.sum_ms / b.answers) : null,
      max_ms: Math.round(b.max_ms),
    })),
    steps: [...phase.steps.values()].map((step) => {
      const t = stats(step.latencies);
      return {
        step: step.name,
        requests: step.requests,
        p50_ms: t.p50_ms,
        p95_ms: t.p95_ms,
        p99_ms: t.p99_ms,
        server_p50_ms: stats(step.server_ms).p50_ms,
        server_p99_ms: stats(step.server_ms).p99_ms,
        d1_trips: stats(step.trips).p50_ms,
        codes: step.codes,
        errors: step.errors,
      };
    }),
  };
  if (socketEvents > 0) {
    row.socket = {
      opened: socket.opened,
      dropped: socket.dropped,
      updates_expected: socket.expected,
      updates_missed: socket.missed,
      seq_gaps: socket.gaps,
      loss_percent: (100 * (socket.dropped + socket.missed + socket.gaps)) / socketEvents,
      delivery: stats(socket.deliveries),
    };
  }
  return row;
}

const ms = (n) => fixed(n, 1);

/** A row's server CPU per request ÷ its /health pass's (1 for a /health pass). */
function cpuRatio(row) {
  const own = row.server_cpu_ms_per_request;
  if (row.health === null) return own === null ? "-" : fixed(1, 2);
  const base = row.health.cpu_ms_per_request;
  return own === null || !base ? "-" : fixed(own / base, 2);
}

function printTables(rows, limits) {
  console.log(
    `\nnpm run load: ${USERS} virtual users, ${DURATION} s per mix, ${HEALTH_DURATION} s of GET /health ` +
      `before each (the mix's p99 is compared with it), ${WARMUP} s of warm-up before each pass`,
  );
  console.log(
    table(
      [
        "mix",
        "flows",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors",
        "error %",
        "socket loss %",
        "p99 ×/health",
        "limit",
        "result",
      ],
      rows.map((r) => {
        const limit = limits[r.mix];
        return [
          r.mix,
          r.flows,
          r.requests,
          fixed(r.rps, 1),
          ms(r.p50_ms),
          ms(r.p95_ms),
          ms(r.p99_ms),
          ms(r.max_ms),
          r.errors,
          fixed(r.error_percent, 2),
          r.socket ? fixed(r.socket.loss_percent, 2) : "-",
          fixed(r.p99_x_health, 2),
          limit === undefined ? "-" : `≤ ${limit}`,
          r.result ?? "-",
        ];
      }),
    ),
  );
  console.log(
    "\nServer CPU (wrangler dev's process group) per request, and the queues' consumers during each phase",
  );
  console.log(
    table(
      [
        "mix",
        "CPU ms/request",
        "× /health",
        "queue deliveries",
        "messages",
        "consumer busy s",
        "slowest delivery ms",
      ],
      rows.map((r) => {
        const queues = Object.values(r.queues);
        const sum = (key) => queues.reduce((n, q) => n + q[key], 0);
        return [
          r.mix,
          fixed(r.server_cpu_ms_per_request, 2),
          cpuRatio(r),
          sum("deliveries"),
          sum("messages"),
          fixed(sum("busy_ms") / 1000, 1),
          queues.length > 0 ? Math.max(...queues.map((q) => q.slowest_ms)) : "-",
        ];
      }),
    ),
  );
  console.log(
    "\nSteps (measured window): latency, the server's own time (Server-Timing total) and D1 trips, medians",
  );
  console.log(
    table(
      [
        "mix / step",
        "requests",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "server p50 ms",
        "server p99 ms",
        "D1 trips",
        "errors",
      ],
      rows
        .filter((r) => !r.mix.startsWith("/health"))
        .flatMap((r) =>
          r.steps.map((s) => [
            `${r.mix}: ${s.step}`,
            s.requests,
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.p99_ms),
            s.server_p50_ms ?? "-",
            s.server_p99_ms ?? "-",
            s.d1_trips ?? "-",
            s.errors,
          ]),
        ),
    ),
  );
  for (const r of rows) {
    if (!r.socket) continue;
    const s = r.socket;
    console.log(
      `\n${r.mix} sockets: ${s.opened} opened, ${s.dropped} dropped, ${s.updates_expected} updates expected, ` +
        `${s.updates_missed} missed, ${s.seq_gaps} seq gaps; request sent → update on the socket ` +
        `p50 ${ms(s.delivery.p50_ms)} ms, p99 ${ms(s.delivery.p99_ms)} ms (${s.delivery.count} measured)`,
    );
  }
}

async function main() {
  checkEnvironment("npm run load");
  const only = process.env.LOAD_MIXES?.split(",").map((s) => s.trim());
  const mixes = only ? MIXES.filter((m) => only.includes(m.name)) : MIXES;
  if (only && mixes.length !== only.length) {
    throw new Error(`LOAD_MIXES names an unknown mix; known: ${MIXES.map((m) => m.name).join(", ")}`);
  }
  const limits = Object.fromEntries(mixes.map((m) => [m.name, p99Limit(m.name)]));
  log(
    `config: ${USERS} users, mixes ${mixes.map((m) => m.name).join(", ")} (${DURATION} s each), ` +
      `p99 limits ×/health ${JSON.stringify(limits)}, errors ≤ ${MAX_ERROR_PERCENT}%, socket loss ≤ ${MAX_SOCKET_LOSS_PERCENT}%`,
  );
  prepareState();
  const base = await startServer();
  const logStart = logSize();

  let t = performance.now();
  const users = await mapConcurrent(
    Array.from({ length: USERS }, (_, i) => i),
    SETUP_CONCURRENCY,
    (i) => setUpUser(base, i),
  );
  log(
    `${USERS} users registered, each with ${SEED_TASKS} tasks (3 micro-steps) and a pet, in ${seconds(t)} s`,
  );
  const settled = { setup: await settle("after the setup") };

  const rows = [];
  const liveRow = summarize(await runPhase(base, users, "/health/live", live, null, HEALTH_DURATION), null);
  rows.push(liveRow);
  let xp = null;
  for (const mix of mixes) {
    // GET /health right before each mix, on the machine as busy as the mix will find it: the mix's p99
    // is held to this pass's (other work on a shared machine comes and goes within a run).
    const healthPhase = await runPhase(base, users, `/health (${mix.name})`, health, null, HEALTH_DURATION);
    const healthRow = summarize(healthPhase, null);
    healthRow.p99_x_health = 1;
    if (liveRow.p99_x_health === null) {
      liveRow.p99_x_health = liveRow.p99_ms / healthRow.p99_ms;
      liveRow.health = { p99_ms: healthRow.p99_ms, cpu_ms_per_request: healthRow.server_cpu_ms_per_request };
    }
    rows.push(healthRow);
    const xpBefore = mix.name === "steps" ? await totalXp(base, users) : null;
    const phase = await runPhase(base, users, mix.name, mix.flow, mix.cleanup, DURATION);
    if (xpBefore) {
      t = performance.now();
      xp = await checkXp(base, users, xpBefore);
      log(
        `XP: ${xp.users - xp.missing} of ${xp.users} users credited for their completed tasks (${seconds(t)} s)`,
      );
    }
    rows.push(summarize(phase, healthRow));
    // The next pass starts on a quiet server (the queues' backlog of this one drained); none after the last.
    if (mix !== mixes.at(-1)) settled[mix.name] = await settle(`after ${mix.name}`);
  }
  const reloads = reloadsIn(logBetween(logStart, logSize()));
  await stopServer();

  const breaches = [];
  for (const row of rows) {
    const problems = [];
    if (row.error_percent > MAX_ERROR_PERCENT) {
      problems.push(
        `${row.errors} unexpected errors (${fixed(row.error_percent, 3)}% > ${MAX_ERROR_PERCENT}%)`,
      );
    }
    if (row.socket && row.socket.loss_percent > MAX_SOCKET_LOSS_PERCENT) {
      problems.push(`socket loss ${fixed(row.socket.loss_percent, 3)}% > ${MAX_SOCKET_LOSS_PERCENT}%`);
    }
    const limit = limits[row.mix];
    if (limit !== undefined && !(row.p99_x_health <= limit)) {
      problems.push(
        `p99 ${ms(row.p99_ms)} ms is ${fixed(row.p99_x_health, 2)}× /health's ${ms(row.health?.p99_ms)} ms (limit ${limit}×)`,
      );
    }
    if (row.measured_requests === 0) problems.push("no request measured");
    if (row.server_reloads > 0)
      problems.push(`wrangler dev reloaded the Worker ${row.server_reloads}× during it`);
    row.result = problems.length === 0 ? "PASS" : "FAIL";
    for (const p of problems) breaches.push(`${row.mix}: ${p}`);
  }
  if (reloads > 0) {
    breaches.push(
      `run: wrangler dev reloaded the Worker ${reloads}× (a source file changed while it ran): the figures ` +
        "include restarts; run again with the sources left alone",
    );
  }
  if (xp && xp.missing > 0) {
    breaches.push(
      `steps: ${xp.missing} of ${xp.users} users got no XP for their completed tasks within ${XP_WAIT_S} s`,
    );
    rows.find((r) => r.mix === "steps").result = "FAIL";
  }

  printTables(rows, limits);
  if (xp) {
    console.log(
      `\nXP after the steps mix: ${xp.users - xp.missing} of ${xp.users} users credited ` +
        `(checked ${fixed(xp.waited_s, 1)} s after the mix)`,
    );
  }
  for (const row of rows) {
    if (row.error_examples.length === 0) continue;
    console.log(`\n${row.mix}: unexpected errors (how many, where, the first one)`);
    for (const e of row.error_examples) console.log(`  ${e.count}× ${e.step}: ${e.first}`);
  }
  const total_s = (performance.now() - RUN_STARTED) / 1000;
  console.log(`\nWhole run: ${fixed(total_s, 0)} s; wrangler dev reloaded the Worker ${reloads}× in it`);
  if (breaches.length === 0) console.log("\nAll thresholds hold.");
  else console.log(`\nThresholds breached:\n${breaches.map((b) => `FAIL  ${b}`).join("\n")}`);

  writeResults("load-latest.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: {
      users: USERS,
      duration_s: DURATION,
      health_duration_s: HEALTH_DURATION,
      warmup_s: WARMUP,
      seed_tasks: SEED_TASKS,
      page_size: PAGE_SIZE,
      mixes: mixes.map((m) => m.name),
    },
    thresholds: {
      max_error_percent: MAX_ERROR_PERCENT,
      max_socket_loss_percent: MAX_SOCKET_LOSS_PERCENT,
      max_p99_x_health: limits,
    },
    rows,
    xp,
    settled_s: settled,
    reloads,
    total_s,
    breaches,
    ok: breaches.length === 0,
  });
  return breaches.length === 0 ? 0 : 1;
}

await runMain(main);
