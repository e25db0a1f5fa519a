// `npm run bench:delegation`: load-test delegation on a local `wrangler dev` with autocannon.
// Fresh throwaway state (lib.mjs STATE_DIR), one bench user with 100 agents (one each of four types, the
// rest "backend"; bench-agent-0001 alone has type "solo" and holds 50 assignments), then GET /health,
// POST /api/v1/delegation/delegate and GET /api/v1/delegation/assignments/agent/bench-agent-0001?limit=50
// (with the agent's own token): a 50-connection pass and a 1-connection pass.
// A task can have one open assignment only (delegating it again is 409), so every delegate request
// takes a fresh task from a pool created beforehand, sized from a 2 s probe of the delegate rate.
// Results go to stdout and bench/results/delegation.json. See bench/README.md.
//
// Env: BENCH_PORT (default 8788), BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50),
// BENCH_AGENTS (default 100: the most one account may register, MAX_AGENTS_PER_USER).
// Exit: 0 when the run completed (targets are informational), 1 on setup failure, any non-2xx response
// or a task pool that ran out before the end of its pass.
import {
  cannon,
  checkEnvironment,
  fixed,
  log,
  mapConcurrent,
  positiveInt,
  prepareState,
  printTargetTable,
  registerUser,
  reportProblems,
  request,
  runMain,
  runPass,
  sleep,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";
import { profileEachRoute } from "./profile.mjs";

const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
// An account may register at most 100 agents (the API answers 409 past that): the bench's one user holds
// that many, the worst case the delegate route's matching meets.
const MAX_AGENTS_PER_ACCOUNT = 100;
const AGENT_COUNT = positiveInt("BENCH_AGENTS", MAX_AGENTS_PER_ACCOUNT);
if (AGENT_COUNT > MAX_AGENTS_PER_ACCOUNT) {
  throw new Error(
    `BENCH_AGENTS must be at most ${MAX_AGENTS_PER_ACCOUNT} (one account's cap), got ${AGENT_COUNT}`,
  );
}
const WARMUP_SECONDS = 2;
const SOLO_DURATION = 5;
const PROBE_SECONDS = 2;
const SETUP_CONCURRENCY = 20;
const AGENT_TYPES = ["backend", "frontend", "research", "writer", "ops"];
// The API caps max_concurrent_tasks at 100 (MAX_AGENT_CAPACITY); 1000 would be a 422.
const AGENT_CAPACITY = 100;
const SOLO_AGENT = "bench-agent-0001";
const SOLO_TYPE = "solo";
const SOLO_ASSIGNMENTS = 50;
const DELEGATE_TYPE = "backend";
const PROBE_POOL = 3000;
const POOL_HEADROOM = 1.5;
const SETTLE_MS = 3000;
const TARGET_P99_MS = 50;

const DELEGATE = "POST /api/v1/delegation/delegate";
const ASSIGNMENTS_PATH = `/api/v1/delegation/assignments/agent/${SOLO_AGENT}?limit=${SOLO_ASSIGNMENTS}`;
const ASSIGNMENTS = `GET ${ASSIGNMENTS_PATH}`;

const agentId = (n) => `bench-agent-${String(n).padStart(4, "0")}`;
/**
 * The solo agent first, then one of each other type, then every other agent of the delegated type: with
 * an account's 100 agents that type has the slots (95 × 100) for the passes' pools, and matching still
 * chooses among every type.
 */
function typeOf(n) {
  if (agentId(n) === SOLO_AGENT) return SOLO_TYPE;
  const others = AGENT_TYPES.filter((t) => t !== DELEGATE_TYPE);
  return others[n - 2] ?? DELEGATE_TYPE;
}
let createdTasks = 0;
const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);

/** Task ids handed out one per delegate request; `taken` counts them, `overrun` counts asks past the end. */
class TaskPool {
  constructor(name, ids) {
    this.name = name;
    this.ids = ids;
    this.taken = 0;
    this.overrun = 0;
  }
  get size() {
    return this.ids.length;
  }
  get remaining() {
    return this.ids.length - this.taken;
  }
  take() {
    if (this.taken < this.ids.length) return this.ids[this.taken++];
    this.overrun++;
    return undefined;
  }
  summary() {
    return { size: this.size, used: this.taken, exhausted: this.remaining === 0, overrun: this.overrun };
  }
}

async function registerAgents(base, token) {
  const started = Date.now();
  const numbers = Array.from({ length: AGENT_COUNT }, (_, i) => i + 1);
  let soloToken;
  await mapConcurrent(numbers, SETUP_CONCURRENCY, async (n) => {
    const id = agentId(n);
    const type = typeOf(n);
    const agent = await request(base, "POST", "/api/v1/delegation/agents/register", {
      token,
      body: {
        agent_id: id,
        agent_type: type,
        capabilities: ["typescript", type],
        max_concurrent_tasks: AGENT_CAPACITY,
      },
      expected: 201,
    });
    if (agent?.agent_id !== id || typeof agent?.token !== "string") {
      throw new Error(`register ${id} answered 201 without agent_id/token:\n${JSON.stringify(agent)}`);
    }
    if (id === SOLO_AGENT) soloToken = agent.token;
  });
  const byType = {};
  for (const n of numbers) {
    const type = typeOf(n);
    byType[type] = (byType[type] ?? 0) + 1;
  }
  log(
    `registered ${AGENT_COUNT} agents in ${seconds(started)} s (${SETUP_CONCURRENCY} at a time; ` +
      `${Object.entries(byType)
        .map(([t, c]) => `${c} ${t}`)
        .join(", ")}; capacity ${AGENT_CAPACITY} each)`,
  );
  return { soloToken, byType };
}

async function createTasks(base, token, count, label) {
  const started = Date.now();
  const ids = await mapConcurrent(
    Array.from({ length: count }, (_, i) => i),
    SETUP_CONCURRENCY,
    async () => {
      const task = await request(base, "POST", "/api/v1/tasks", {
        token,
        body: { title: `Bench delegated ${++createdTasks}` },
        expected: 201,
      });
      if (typeof task?.task_id !== "string") {
        throw new Error(`POST /api/v1/tasks answered 201 without task_id:\n${JSON.stringify(task)}`);
      }
      return task.task_id;
    },
  );
  const took = (Date.now() - started) / 1000;
  log(`created ${count} tasks for ${label} in ${took.toFixed(1)} s (${(count / took).toFixed(0)}/s)`);
  return ids;
}

async function delegateOnce(base, token, taskId, preferType) {
  return request(base, "POST", "/api/v1/delegation/delegate", {
    token,
    body: { task_id: taskId, delegation_mode: "DELEGATE", prefer_agent_type: preferType },
    expected: 200,
  });
}

/** bench-agent-0001 (the only "solo" agent) gets SOLO_ASSIGNMENTS tasks; its list must show them all. */
async function loadSoloAgent(base, token, soloToken) {
  const ids = await createTasks(base, token, SOLO_ASSIGNMENTS, `${SOLO_AGENT}'s assignments`);
  await mapConcurrent(ids, SETUP_CONCURRENCY, async (id) => {
    const result = await delegateOnce(base, token, id, SOLO_TYPE);
    if (result?.assigned_agent?.agent_id !== SOLO_AGENT) {
      throw new Error(`delegating to "${SOLO_TYPE}" did not pick ${SOLO_AGENT}:\n${JSON.stringify(result)}`);
    }
  });
  const list = await request(base, "GET", ASSIGNMENTS_PATH, { token: soloToken, expected: 200 });
  if (
    !Array.isArray(list) ||
    list.length !== SOLO_ASSIGNMENTS ||
    list.some((a) => a.agent_id !== SOLO_AGENT)
  ) {
    throw new Error(
      `${ASSIGNMENTS} should be ${SOLO_ASSIGNMENTS} assignments of ${SOLO_AGENT}, got:\n` +
        JSON.stringify(list).slice(0, 2000),
    );
  }
  log(`delegated ${SOLO_ASSIGNMENTS} tasks to ${SOLO_AGENT}; its list (agent token) shows all of them`);
}

function delegateRoute(token, pool) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const path = "/api/v1/delegation/delegate";
  return {
    name: DELEGATE,
    method: "POST",
    path,
    headers,
    perSecond: true,
    pool,
    // One fresh task per request; maxOverallRequests stops the run before the pool runs out.
    options: (connections) => {
      if (pool.remaining < connections) {
        throw new Error(
          `task pool "${pool.name}" has ${pool.remaining} tasks left, fewer than ${connections}`,
        );
      }
      return {
        maxOverallRequests: pool.remaining,
        requests: [
          {
            method: "POST",
            path,
            headers,
            setupRequest: (req) => {
              const taskId = pool.take();
              // Past the end (cannot happen under maxOverallRequests): an unknown task answers 404,
              // which is counted as a non-2xx and fails the run.
              const body = {
                task_id: taskId ?? "bench-pool-ran-out",
                delegation_mode: "DELEGATE",
                prefer_agent_type: DELEGATE_TYPE,
              };
              return { ...req, body: JSON.stringify(body) };
            },
          },
        ],
      };
    },
  };
}

function routes(token, soloToken, loadPool, soloPool) {
  return {
    load: [
      { name: "GET /health", method: "GET", path: "/health" },
      { ...delegateRoute(token, loadPool), warmup: false },
      {
        name: ASSIGNMENTS,
        method: "GET",
        path: ASSIGNMENTS_PATH,
        headers: { authorization: `Bearer ${soloToken}` },
      },
    ],
    solo: [
      { name: "GET /health", method: "GET", path: "/health" },
      delegateRoute(token, soloPool),
      {
        name: ASSIGNMENTS,
        method: "GET",
        path: ASSIGNMENTS_PATH,
        headers: { authorization: `Bearer ${soloToken}` },
      },
    ],
  };
}

/** Adds the task pool bookkeeping (size, used, exhausted) to the delegate rows. */
function annotate(rows, list) {
  for (const row of rows) {
    const route = list.find((r) => r.name === row.route);
    if (route?.pool) row.task_pool = route.pool.summary();
  }
  return rows;
}

/** Responses and mean latency of each second of the delegate load pass, to see a slowdown as assignments grow. */
function printPerSecond(row) {
  const secs = row.per_second ?? [];
  if (secs.length === 0) return null;
  console.log(
    table(
      ["second", ...secs.map((_, i) => String(i + 1))],
      [
        ["responses", ...secs.map((s) => s.responses)],
        ["mean ms", ...secs.map((s) => fixed(s.mean_latency_ms, 1))],
      ],
    ),
  );
  // Whole seconds only: the last bucket is cut short by the end of the run.
  const whole = secs.slice(0, Math.max(1, Math.min(secs.length, DURATION)));
  const third = Math.max(1, Math.floor(whole.length / 3));
  const mean = (xs) => xs.reduce((sum, s) => sum + s.responses, 0) / xs.length;
  const first = mean(whole.slice(0, third));
  const last = mean(whole.slice(-third));
  const change = first > 0 ? (last - first) / first : 0;
  console.log(
    `first ${third} s: ${first.toFixed(0)} responses/s, last ${third} s: ${last.toFixed(0)} responses/s ` +
      `(${change >= 0 ? "+" : ""}${(change * 100).toFixed(1)}%)`,
  );
  return { first_rps: first, last_rps: last, change };
}

async function main() {
  checkEnvironment("npm run bench:delegation");
  log(
    `config: ${CONNECTIONS} connections, ${DURATION} s per route, ${WARMUP_SECONDS} s warm-up (GET only), ` +
      `${AGENT_COUNT} agents`,
  );
  prepareState();
  const base = await startServer();

  const token = await registerUser(base);
  const { soloToken, byType } = await registerAgents(base, token);
  if (!soloToken) throw new Error(`no token for ${SOLO_AGENT}`);
  const backendCapacity = (byType[DELEGATE_TYPE] ?? 0) * AGENT_CAPACITY;

  await loadSoloAgent(base, token, soloToken);

  // The probe (2 s of delegate at full load, on its own pool) measures the rate that sizes the pools.
  // At most a quarter of the delegate agents' slots, so that the measured pools get the rest.
  const probeSize = Math.min(PROBE_POOL, Math.floor(backendCapacity / 4));
  const probePool = new TaskPool("probe", await createTasks(base, token, probeSize, "the probe"));
  const check = await delegateOnce(base, token, probePool.take(), DELEGATE_TYPE);
  if (check?.assigned_agent?.agent_type !== DELEGATE_TYPE || check?.assignment?.status !== "pending") {
    throw new Error(`a "${DELEGATE_TYPE}" delegation answered an unexpected body:\n${JSON.stringify(check)}`);
  }
  log(`probing ${DELEGATE} (${PROBE_SECONDS} s, ${CONNECTIONS} connections)`);
  const probeRoute = delegateRoute(token, probePool);
  const probe = await cannon(base, probeRoute, CONNECTIONS, PROBE_SECONDS);
  const probeNon2xx = probe.non2xx;
  // Answered requests only: the ones still in flight when the probe stopped are done later.
  const probeDelegations = probe.requests_total;
  const probeRate = probeDelegations / probe.elapsed_s;
  let delegated = SOLO_ASSIGNMENTS + probePool.taken;
  log(
    `probe: ${probeDelegations} delegations in ${fixed(probe.elapsed_s, 2)} s = ${probeRate.toFixed(0)}/s ` +
      `(${probeNon2xx} non-2xx, codes ${JSON.stringify(probe.status_codes)})`,
  );
  if (probeNon2xx > 0) throw new Error(`the probe got ${probeNon2xx} non-2xx answers`);

  let loadSize = Math.ceil(probeRate * DURATION * POOL_HEADROOM);
  let soloSize = Math.ceil(probeRate * SOLO_DURATION * POOL_HEADROOM);
  const free = backendCapacity - (delegated - SOLO_ASSIGNMENTS);
  if (loadSize + soloSize > free) {
    const scale = free / (loadSize + soloSize);
    loadSize = Math.floor(loadSize * scale);
    soloSize = Math.floor(soloSize * scale);
    log(
      `WARN pools cut to ${loadSize} + ${soloSize} tasks: the ${DELEGATE_TYPE} agents have ${free} free slots`,
    );
  }
  const loadPool = new TaskPool("load", await createTasks(base, token, loadSize, "the load pass"));
  const soloPool = new TaskPool("latency", await createTasks(base, token, soloSize, "the latency pass"));
  log(`letting queued events settle (${SETTLE_MS / 1000} s)`);
  await sleep(SETTLE_MS);

  const list = routes(token, soloToken, loadPool, soloPool);
  const load = annotate(
    await runPass(base, list.load, CONNECTIONS, DURATION, WARMUP_SECONDS, {
      measure: profileEachRoute("delegation"),
    }),
    list.load,
  );
  const solo = annotate(await runPass(base, list.solo, 1, SOLO_DURATION, 0), list.solo);
  delegated += loadPool.taken + soloPool.taken;
  const agentsAfter = await request(base, "GET", `/api/v1/delegation/agents?agent_type=${DELEGATE_TYPE}`, {
    token,
    expected: 200,
  });
  const counts = agentsAfter.map((a) => a.current_task_count);
  const spread = { agents: counts.length, min: Math.min(...counts), max: Math.max(...counts) };
  await stopServer();

  console.log(
    `\nSetup: ${AGENT_COUNT} agents (${Object.entries(byType)
      .map(([t, c]) => `${c} ${t}`)
      .join(", ")}), ${SOLO_ASSIGNMENTS} assignments on ${SOLO_AGENT}, ` +
      `probe ${probeRate.toFixed(0)} delegations/s, task pools: load ${loadPool.size}, latency ${soloPool.size}`,
  );
  console.log(
    `\nLoad pass: ${CONNECTIONS} connections, ${DURATION} s per route ` +
      `(${WARMUP_SECONDS} s warm-up for GET routes; delegate uses fresh pool tasks, no warm-up)`,
  );
  printTargetTable("", load, TARGET_P99_MS);
  console.log(`\nLatency pass: 1 connection, ${SOLO_DURATION} s per route (no queueing)`);
  printTargetTable("", solo, TARGET_P99_MS);

  const delegateLoad = load.find((r) => r.route === DELEGATE);
  console.log(`\n${DELEGATE}, load pass, second by second:`);
  const trend = delegateLoad ? printPerSecond(delegateLoad) : null;
  console.log(
    `${delegated} delegations in all; ${DELEGATE_TYPE} agents now hold ${spread.min}..${spread.max} ` +
      `open assignments each (${spread.agents} agents, least-loaded first)`,
  );

  const targets = [];
  for (const [pass, rows] of [
    ["load", load],
    ["latency", solo],
  ]) {
    for (const row of rows.filter((r) => r.route !== "GET /health")) {
      targets.push({
        target: `${row.route} p99 < ${TARGET_P99_MS} ms (${pass} pass, ${row.connections} conn)`,
        value: row.p99_ms,
        pass: row.p99_ms < TARGET_P99_MS,
        shown: `${row.p99_ms} ms`,
      });
    }
  }
  console.log(
    `\nTargets (informational; at ${CONNECTIONS} connections on this machine the load generator and ` +
      "workerd share the CPU, so p99 there is mostly queueing; the 1-connection p99 is the cost of a request):",
  );
  for (const t of targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.shown}`);

  const bad = reportProblems([...load, ...solo]);
  const exhausted = [...load, ...solo].filter((r) => r.task_pool?.exhausted || r.task_pool?.overrun > 0);
  for (const r of exhausted) {
    console.log(
      `ERROR ${r.route} (${r.connections} conn): the task pool ran out (${r.task_pool.used}/${r.task_pool.size} ` +
        `used, ${r.task_pool.overrun} past the end) after ${fixed(r.elapsed_s, 1)} s of ${r.duration_s} s`,
    );
  }
  const ok = bad.length === 0 && exhausted.length === 0;

  writeResults("delegation.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: {
      connections: CONNECTIONS,
      duration_s: DURATION,
      warmup_s: WARMUP_SECONDS,
      solo_duration_s: SOLO_DURATION,
      agents: AGENT_COUNT,
      agents_by_type: byType,
      agent_capacity: AGENT_CAPACITY,
      solo_agent: SOLO_AGENT,
      solo_agent_assignments: SOLO_ASSIGNMENTS,
      delegate_prefer_agent_type: DELEGATE_TYPE,
    },
    probe: {
      seconds: PROBE_SECONDS,
      delegations: probeDelegations,
      elapsed_s: probe.elapsed_s,
      rate: probeRate,
      non2xx: probeNon2xx,
      status_codes: probe.status_codes,
    },
    pools: { load: loadPool.summary(), latency: soloPool.summary() },
    load,
    solo,
    delegate_load_trend: trend,
    delegations_total: delegated,
    backend_agents_after: spread,
    targets: targets.map(({ target, value, pass }) => ({ target, value, pass })),
    ok,
  });
  return ok ? 0 : 1;
}

await runMain(main);
