// `npm run bench`: load-test a local `wrangler dev` with autocannon.
// Fresh throwaway state in .bench-state/, one bench user with 50 tasks (5 micro-steps each), then
// GET /health/live, GET /health, GET /api/v1/tasks?limit=50 and POST /api/v1/tasks, one after another:
// a 50-connection pass (throughput, latency under queueing) and a 1-connection pass (latency alone).
// Results go to stdout and bench/results/latest.json. See bench/README.md.
//
// Env: BENCH_PORT (default 8788), BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50).
// Exit: 0 when the run completed (targets are informational), 1 on setup failure or any non-2xx response.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STATE_DIR = join(ROOT, ".bench-state");
const DEV_VARS = join(ROOT, ".dev.vars");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const RESULTS_FILE = join(ROOT, "bench", "results", "latest.json");
const WRANGLER_LOG = join(STATE_DIR, "wrangler-dev.log");

const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const WARMUP_SECONDS = 2;
const SOLO_DURATION = 5;
const HEALTH_TIMEOUT_MS = 90_000;
const SEED_TASKS = 50;
const SEED_STEPS = 5;
const TARGET_RATIO = 0.4;
const TARGET_P99_MS = 50;

const childEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/** @type {import("node:child_process").ChildProcess | undefined} */
let server;

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function log(message) {
  console.log(`[bench] ${message}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function checkNodeVersion() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(
      `wrangler needs Node >= 22.12 but this is Node ${process.versions.node}; run \`npm run bench\` ` +
        "(the project's node@22 devDependency comes first on PATH there).",
    );
  }
}

function ensureDevVars() {
  if (existsSync(DEV_VARS) && /^\s*JWT_SECRET\s*=\s*\S/m.test(readFileSync(DEV_VARS, "utf8"))) return;
  if (existsSync(DEV_VARS)) {
    throw new Error(".dev.vars exists but has no JWT_SECRET; add `JWT_SECRET=<random secret>` to it.");
  }
  writeFileSync(DEV_VARS, `JWT_SECRET=${randomBytes(48).toString("base64url")}\n`);
  log("created .dev.vars with a random JWT_SECRET");
}

function applyMigrations() {
  log("applying D1 migrations to .bench-state/");
  const result = spawnSync(
    process.execPath,
    [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE_DIR],
    { cwd: ROOT, env: { ...childEnv, CI: "true" }, encoding: "utf8" },
  );
  if (result.error) throw new Error(`could not run wrangler: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `wrangler d1 migrations apply failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

function ephemeralPort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function choosePort() {
  const explicit = process.env.BENCH_PORT;
  const port = explicit ? Number(explicit) : 8788;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad BENCH_PORT "${explicit}"`);
  if (await portIsFree(port)) return port;
  if (explicit) throw new Error(`BENCH_PORT ${port} is already in use`);
  const fallback = await ephemeralPort();
  log(`port ${port} is busy, using ${fallback}`);
  return fallback;
}

function logTail(lines = 40) {
  if (!existsSync(WRANGLER_LOG)) return "(no wrangler log)";
  return readFileSync(WRANGLER_LOG, "utf8").split("\n").slice(-lines).join("\n");
}

function startServer(port) {
  log(`starting wrangler dev on 127.0.0.1:${port} (log: .bench-state/wrangler-dev.log)`);
  const out = createWriteStream(WRANGLER_LOG);
  const child = spawn(
    process.execPath,
    // --local: remote bindings (Workers AI) off, so no Cloudflare login or network is needed.
    [WRANGLER, "dev", "--local", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", STATE_DIR],
    { cwd: ROOT, env: childEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  return child;
}

function serverAlive() {
  return server !== undefined && server.exitCode === null && server.signalCode === null;
}

function killGroup(signal) {
  if (!server?.pid) return;
  try {
    process.kill(-server.pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Stops wrangler dev and everything it started (workerd): SIGTERM to the group, SIGKILL after 5 s. */
async function stopServer() {
  if (!server?.pid) return;
  if (serverAlive()) {
    const exited = new Promise((resolve) => server?.once("exit", resolve));
    killGroup("SIGTERM");
    await Promise.race([exited, sleep(5000)]);
  }
  killGroup("SIGKILL");
  server = undefined;
}

async function waitForHealth(base) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (!serverAlive()) {
      throw new Error(`wrangler dev exited early (code ${server?.exitCode}); log tail:\n${logTail()}`);
    }
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(300);
  }
  throw new Error(
    `GET /health did not answer 200 within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${last}); log tail:\n${logTail()}`,
  );
}

/** A setup request that must answer `expected`; returns the parsed JSON body, or throws with the body. */
async function request(base, method, path, { token, body, expected }) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status !== expected) {
    throw new Error(`${method} ${path} answered ${res.status}, expected ${expected}; body:\n${text}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with a body that is not JSON:\n${text}`);
  }
}

async function seed(base) {
  const email = `bench-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
  const auth = await request(base, "POST", "/api/v1/auth/register", {
    body: { email, password: randomBytes(18).toString("base64url"), display_name: "Bench" },
    expected: 201,
  });
  const token = auth?.access_token;
  if (typeof token !== "string" || !auth?.user?.id) {
    throw new Error(`register answered 201 without user.id/access_token:\n${JSON.stringify(auth)}`);
  }
  log(`registered ${email} (user ${auth.user.id})`);

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

async function cannon(base, route, connections, duration) {
  const result = await autocannon({
    url: `${base}${route.path}`,
    method: route.method,
    headers: route.headers ?? {},
    body: route.body,
    connections,
    duration,
  });
  return {
    route: route.name,
    connections,
    duration_s: duration,
    requests_total: result.requests.total,
    rps: result.requests.average,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])),
  };
}

async function runPass(base, list, connections, duration, warmup) {
  const rows = [];
  for (const route of list) {
    let warmupNon2xx = 0;
    if (warmup) {
      log(`warm-up ${route.name} (${WARMUP_SECONDS} s, ${connections} connections)`);
      warmupNon2xx = (await cannon(base, route, connections, WARMUP_SECONDS)).non2xx;
    }
    log(`measuring ${route.name} (${duration} s, ${connections} connection${connections === 1 ? "" : "s"})`);
    const row = await cannon(base, route, connections, duration);
    rows.push({ ...row, warmup_non2xx: warmupNon2xx });
  }
  const health = rows.find((r) => r.route === "GET /health")?.rps ?? 0;
  const live = rows.find((r) => r.route === "GET /health/live")?.rps ?? 0;
  for (const row of rows) {
    row.ratio_to_health = health > 0 ? row.rps / health : null;
    row.ratio_to_live = live > 0 ? row.rps / live : null;
  }
  return rows;
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const fixed = (n, digits) => (n === null || n === undefined ? "-" : n.toFixed(digits));

function printLoadTable(rows) {
  console.log(
    table(
      [
        "route",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "errors",
        "timeouts",
        "ratio /health",
        "ratio /health/live",
      ],
      rows.map((r) => [
        r.route,
        fixed(r.rps, 1),
        r.p50_ms,
        r.p99_ms,
        r.non2xx,
        r.errors,
        r.timeouts,
        fixed(r.ratio_to_health, 2),
        fixed(r.ratio_to_live, 2),
      ]),
    ),
  );
}

function printSoloTable(rows) {
  console.log(
    table(
      ["route", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "timeouts"],
      rows.map((r) => [r.route, fixed(r.rps, 1), r.p50_ms, r.p99_ms, r.non2xx, r.errors, r.timeouts]),
    ),
  );
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
  checkNodeVersion();
  if (!existsSync(WRANGLER)) throw new Error(`wrangler not found at ${WRANGLER}; run npm install`);
  log(`config: ${CONNECTIONS} connections, ${DURATION} s per route, ${WARMUP_SECONDS} s warm-up`);
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  ensureDevVars();
  applyMigrations();

  const port = await choosePort();
  const base = `http://127.0.0.1:${port}`;
  server = startServer(port);
  await waitForHealth(base);
  log(`wrangler dev is up at ${base}`);

  const token = await seed(base);
  const list = routes(token);
  const load = await runPass(base, list, CONNECTIONS, DURATION, true);
  const solo = await runPass(base, list, 1, SOLO_DURATION, false);
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

  const bad = [...load, ...solo].filter((r) => r.non2xx + r.warmup_non2xx > 0);
  const errored = [...load, ...solo].filter((r) => r.errors + r.timeouts > 0);
  for (const r of errored) {
    console.log(`WARN  ${r.route} (${r.connections} conn): ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  for (const r of bad) {
    console.log(
      `ERROR ${r.route} (${r.connections} conn): ${r.non2xx} non-2xx responses ` +
        `(+${r.warmup_non2xx} in warm-up), measured status codes ${JSON.stringify(r.status_codes)}`,
    );
  }

  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  const report = {
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
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  log(`results written to ${RESULTS_FILE.slice(ROOT.length)}`);
  return bad.length === 0 ? 0 : 1;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    log(`${signal}: stopping wrangler dev`);
    stopServer().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}
// Last resort if the process exits some other way: the group must not outlive us.
process.on("exit", () => killGroup("SIGKILL"));

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`[bench] FAILED: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await stopServer();
}
process.exit(code);
