// `npm run bench`: load-test a local `wrangler dev` with autocannon.
// Fresh throwaway state (lib.mjs STATE_DIR), one bench user with 50 tasks (5 micro-steps each), then
// GET /health/live, GET /health, GET /api/v1/tasks?limit=50 and POST /api/v1/tasks, one after another:
// a 50-connection pass (throughput, latency under queueing) and a 1-connection pass (latency alone).
// Results go to stdout and bench/results/latest.json. See bench/README.md.
//
// Env: BENCH_PORT (default 8788), BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50).
// Exit: 0 when the run completed (targets are informational), 1 on setup failure or any non-2xx response.
import {
  checkEnvironment,
  fixed,
  log,
  positiveInt,
  prepareState,
  printLoadTable,
  printSoloTable,
  registerUser,
  reportProblems,
  request,
  runMain,
  runPass,
  startServer,
  stopServer,
  writeResults,
} from "./lib.mjs";
import { profileEachRoute } from "./profile.mjs";

const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const WARMUP_SECONDS = 2;
const SOLO_DURATION = 5;
const SEED_TASKS = 50;
const SEED_STEPS = 5;
const TARGET_RATIO = 0.4;
const TARGET_P99_MS = 50;

async function seed(base) {
  const token = await registerUser(base);

  for (let n = 1; n <= SEED_TASKS; n++) {
    const microSteps = Array.from({ length: SEED_STEPS }, (_, k) => ({
      description: `Step ${k + 1}`,
      estimated_minutes: 3,
    }));
    const task = await request(base, "POST", "/api/v1/tasks", {
      token,
      body: {
        title: `Bench task ${n}`,
        priority: "medium",
        tags: ["bench"],
        estimated_minutes: 25,
        micro_steps: microSteps,
      },
      expected: 201,
    });
    if (Array.isArray(task?.micro_steps) && task.micro_steps.length !== SEED_STEPS) {
      throw new Error(
        `POST /api/v1/tasks returned ${task.micro_steps.length} micro_steps, expected ${SEED_STEPS}:\n` +
          JSON.stringify(task),
      );
    }
  }
  const list = await request(base, "GET", `/api/v1/tasks?limit=${SEED_TASKS}`, { token, expected: 200 });
  if (!Array.isArray(list) || list.length !== SEED_TASKS) {
    const got = Array.isArray(list) ? `an array of ${list.length}` : "not an array";
    throw new Error(
      `GET /api/v1/tasks?limit=${SEED_TASKS} should be a JSON array of ${SEED_TASKS}, got ${got}:\n` +
        JSON.stringify(list).slice(0, 2000),
    );
  }
  log(`created ${SEED_TASKS} tasks with ${SEED_STEPS} micro-steps each`);
  return token;
}

function routes(token) {
  const auth = { authorization: `Bearer ${token}` };
  return [
    { name: "GET /health/live", method: "GET", path: "/health/live" },
    { name: "GET /health", method: "GET", path: "/health" },
    { name: "GET /api/v1/tasks?limit=50", method: "GET", path: "/api/v1/tasks?limit=50", headers: auth },
    {
      name: "POST /api/v1/tasks",
      method: "POST",
      path: "/api/v1/tasks",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        title: "Bench created",
        priority: "high",
        micro_steps: [{ description: "a" }, { description: "b" }],
      }),
    },
  ];
}

function evaluateTargets(rows) {
  const targets = [];
  for (const name of ["GET /api/v1/tasks?limit=50", "POST /api/v1/tasks"]) {
    const row = rows.find((r) => r.route === name);
    if (!row) continue;
    targets.push({
      target: `${name} throughput >= ${TARGET_RATIO * 100}% of GET /health`,
      value: row.ratio_to_health,
      pass: row.ratio_to_health !== null && row.ratio_to_health >= TARGET_RATIO,
      shown: `${fixed((row.ratio_to_health ?? 0) * 100, 1)}%`,
    });
    targets.push({
      target: `${name} p99 < ${TARGET_P99_MS} ms`,
      value: row.p99_ms,
      pass: row.p99_ms < TARGET_P99_MS,
      shown: `${row.p99_ms} ms`,
    });
  }
  return targets;
}

async function main() {
  checkEnvironment("npm run bench");
  log(`config: ${CONNECTIONS} connections, ${DURATION} s per route, ${WARMUP_SECONDS} s warm-up`);
  prepareState();
  const base = await startServer();

  const token = await seed(base);
  const list = routes(token);
  const load = await runPass(base, list, CONNECTIONS, DURATION, WARMUP_SECONDS, {
    measure: profileEachRoute("tasks"),
  });
  const solo = await runPass(base, list, 1, SOLO_DURATION, 0);
  await stopServer();

  console.log(
    `\nLoad pass: ${CONNECTIONS} connections, ${DURATION} s per route (after a ${WARMUP_SECONDS} s warm-up)`,
  );
  printLoadTable(load);
  console.log(`\nLatency pass: 1 connection, ${SOLO_DURATION} s per route (no queueing)`);
  printSoloTable(solo);

  const targets = evaluateTargets(load);
  console.log("\nTargets (informational, measured in the load pass):");
  for (const t of targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.shown}`);

  const bad = reportProblems([...load, ...solo]);

  writeResults("latest.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: {
      connections: CONNECTIONS,
      duration_s: DURATION,
      warmup_s: WARMUP_SECONDS,
      solo_duration_s: SOLO_DURATION,
      seed: { tasks: SEED_TASKS, micro_steps_per_task: SEED_STEPS },
    },
    load,
    solo,
    targets: targets.map(({ target, value, pass }) => ({ target, value, pass })),
    ok: bad.length === 0,
  });
  return bad.length === 0 ? 0 : 1;
}

await runMain(main);
