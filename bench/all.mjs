// `npm run bench:all`: one table for every hot route. First a bare Hono Worker (bench/bare/, the same
// workerd started the same way) is measured on its /health/live and /health (one `SELECT 1`); then each
// route's own bench runs as it always does (`npm run bench`, bench:pets, bench:split, bench:delegation,
// bench:focus, bench:rooms — each on a fresh server, each timing the app's GET /health in the same run)
// and its results file is read back. Every route is shown with its throughput and p99 as ratios to that
// run's GET /health and to the bare route, and its p50 one at a time; the table goes to
// bench/results/all.json and to a dated copy beside it, so runs can be compared. See bench/README.md.
//
// Env: BENCH_ALL_ONLY=bench,pets,… runs only those benches; each bench's own env applies (BENCH_DURATION…).
// Exit: 0 when every bench ran (the targets are informational), 1 when one failed.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cannon,
  checkEnvironment,
  fixed,
  freshStateDir,
  log,
  positiveInt,
  RESULTS_DIR,
  ROOT,
  runMain,
  STATE_DIR,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";

const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const SOLO_DURATION = 5;
const WARMUP_SECONDS = 2;
const TARGETS = { throughput: 0.6, p99: 1.5, soloP50: 1.5, live: 0.9, delivery: 1.5 };

const rowNamed = (rows, name) => rows?.find((r) => r.route === name);
/** Answers of another status than `expected`, from a `{status: count}` map. */
const unexpected = (codes, expected) =>
  Object.entries(codes ?? {}).reduce((n, [code, count]) => n + (Number(code) === expected ? 0 : count), 0);

/**
 * Each bench, and how its results file becomes rows of the table: `rps`/`p99_ms` at load, `solo_p50_ms`
 * one at a time, each with the same figures of GET /health from the same run (`health`).
 */
const BENCHES = [
  {
    id: "bench",
    script: "bench",
    file: "latest.json",
    rows: (r) =>
      autocannonRows(r.load, r.solo, [
        "GET /health/live",
        "GET /api/v1/tasks?limit=50",
        "POST /api/v1/tasks",
      ]),
  },
  {
    id: "pets",
    script: "bench:pets",
    file: "pets.json",
    rows: (r) =>
      autocannonRows(r.load, r.solo, [
        "GET /api/v1/pets/level/me/status",
        "POST /api/v1/pets/me/feed (1 XP)",
      ]),
  },
  {
    id: "split",
    script: "bench:split",
    file: "split.json",
    rows: (r) => {
      const [row] = autocannonRows(r.sustained, [], ["POST /api/v1/tasks/split/{id} (suggest)"]);
      const solo = (name) => r.sequential.find((s) => s.name === name)?.p50_ms ?? null;
      return [
        {
          ...row,
          solo_p50_ms: solo("split (suggest), one at a time"),
          health: { ...row.health, solo_p50_ms: solo("GET /health, one at a time") },
        },
      ];
    },
  },
  {
    id: "delegation",
    script: "bench:delegation",
    file: "delegation.json",
    rows: (r) => autocannonRows(r.load, r.solo, ["POST /api/v1/delegation/delegate"]),
  },
  {
    id: "focus",
    script: "bench:focus",
    file: "focus-ws.json",
    rows: (r) => [
      liveRow(
        "POST /api/v1/focus/enhanced/start → `started` on each socket",
        r.load,
        r.solo,
        r.dropped +
          r.load.missed +
          r.solo.missed +
          unexpected(r.load.codes, 201) +
          unexpected(r.solo.codes, 201),
      ),
    ],
  },
  {
    id: "rooms",
    script: "bench:rooms",
    file: "rooms.json",
    // Per action, the round whose delivery p99 ÷ /health p99 is the median (what the bench's target judges);
    // a round without deliveries sorts last (its missing messages are counted as faults).
    rows: (r) =>
      [...new Set(r.passes.map((p) => p.action))].map((action) => {
        const ratio = (p) =>
          p.deliveries.p99_ms === null || !p.health.p99_ms ? Infinity : p.deliveries.p99_ms / p.health.p99_ms;
        const rounds = r.passes.filter((p) => p.action === action).sort((a, b) => ratio(a) - ratio(b));
        const median = rounds[Math.floor(rounds.length / 2)];
        const missed = rounds.reduce((n, p) => n + p.missed, 0);
        return liveRow(
          `focus ${action} → each other member's room socket (median of ${rounds.length} rounds)`,
          median,
          null,
          r.dropped + r.gaps + missed,
        );
      }),
  },
];

/** Rows of an autocannon bench (lib.mjs runPass): each named route beside that run's GET /health. */
function autocannonRows(load, solo, names) {
  const health = rowNamed(load, "GET /health");
  const soloHealth = rowNamed(solo, "GET /health");
  return names.map((name) => {
    const row = rowNamed(load, name);
    if (!row || !health) throw new Error(`no "${name}" or GET /health row in the results`);
    return {
      route: name,
      rps: row.rps,
      p99_ms: row.p99_ms,
      solo_p50_ms: rowNamed(solo, name)?.p50_ms ?? null,
      non2xx: row.non2xx + (rowNamed(solo, name)?.non2xx ?? 0),
      health: { rps: health.rps, p99_ms: health.p99_ms, solo_p50_ms: soloHealth?.p50_ms ?? null },
    };
  });
}

/** A live-socket bench's row: request sent → message on each socket, against /health timed alike. */
function liveRow(route, load, solo, faults) {
  return {
    route,
    rps: null,
    p99_ms: load.deliveries.p99_ms,
    solo_p50_ms: solo?.deliveries.p50_ms ?? null,
    faults,
    health: {
      rps: null,
      p99_ms: load.health.p99_ms,
      solo_p50_ms: solo?.health.p50_ms ?? null,
    },
  };
}

/** The bare Hono Worker: its two routes at load and one at a time, like the app's in `npm run bench`. */
async function measureBare() {
  const stateDir = join(STATE_DIR, "bare");
  mkdirSync(stateDir, { recursive: true });
  const base = await startServer(
    {},
    { worker: { config: join(ROOT, "bench", "bare", "wrangler.toml"), stateDir } },
  );
  const rows = {};
  try {
    for (const path of ["/health/live", "/health"]) {
      const route = { name: `bare GET ${path}`, method: "GET", path };
      log(`bare Hono: ${route.name}, warm-up then ${CONNECTIONS} connections for ${DURATION} s`);
      await cannon(base, route, CONNECTIONS, WARMUP_SECONDS);
      const load = await cannon(base, route, CONNECTIONS, DURATION);
      const solo = await cannon(base, route, 1, SOLO_DURATION);
      rows[path] = {
        rps: load.rps,
        p99_ms: load.p99_ms,
        solo_p50_ms: solo.p50_ms,
        non2xx: load.non2xx + solo.non2xx,
      };
    }
  } finally {
    await stopServer();
  }
  return rows;
}

/** Runs one bench as `npm run` would; its output goes to bench/results/all-<id>.log. */
function runBench(bench) {
  log(`running npm run ${bench.script} (its output: bench/results/all-${bench.id}.log)`);
  // An earlier run's file must not stand in for this run's when this one dies before writing its own.
  const file = join(RESULTS_DIR, bench.file);
  rmSync(file, { force: true });
  const started = performance.now();
  const result = spawnSync("npm", ["run", "--silent", bench.script], {
    cwd: ROOT,
    // The directory this run chose: a child choosing again could land elsewhere (memory vs disk) and be
    // compared with a bare Worker measured on other storage.
    env: { ...process.env, BENCH_STATE_DIR: STATE_DIR, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  writeResultsLog(bench.id, `${result.stdout ?? ""}\n${result.stderr ?? ""}`);
  log(
    `npm run ${bench.script} exited ${result.status} after ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  if (result.status !== 0 && result.status !== 1) return { error: `exit ${result.status}` };
  if (!existsSync(file)) return { error: `no ${bench.file} (it failed before writing it)` };
  try {
    return { rows: bench.rows(JSON.parse(readFileSync(file, "utf8"))), failed: result.status !== 0 };
  } catch (error) {
    // One unreadable file must not lose the benches already run: the table is made without it.
    return { error: `${bench.file} could not be read: ${error instanceof Error ? error.message : error}` };
  }
}

function writeResultsLog(id, text) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `all-${id}.log`), text);
}

const ratio = (a, b) => (a === null || a === undefined || !b ? null : a / b);

function printTable(rows, bare) {
  console.log(
    `\nBare Hono Worker (same workerd): /health/live ${fixed(bare["/health/live"].rps, 0)} req/s, ` +
      `/health ${fixed(bare["/health"].rps, 0)} req/s (p99 ${bare["/health"].p99_ms} ms, ` +
      `one at a time p50 ${bare["/health"].solo_p50_ms} ms)`,
  );
  console.log(
    table(
      [
        "route (bench)",
        "req/s",
        "×/health",
        "×bare",
        "p99 ms",
        "p99 ×/health",
        "p99 ×bare",
        "p50 solo ms",
        "p50 ×/health",
      ],
      rows.map((r) => [
        `${r.route} (${r.bench})`,
        fixed(r.rps, 0),
        fixed(r.throughput_x_health, 2),
        fixed(r.throughput_x_bare, 2),
        fixed(r.p99_ms, 1),
        fixed(r.p99_x_health, 2),
        fixed(r.p99_x_bare, 2),
        fixed(r.solo_p50_ms, 1),
        fixed(r.solo_p50_x_health, 2),
      ]),
    ),
  );
}

function evaluate(rows, bare, appLive) {
  const checks = [];
  for (const r of rows) {
    if (r.route === "GET /health/live") continue;
    if (r.throughput_x_health !== null)
      checks.push([
        `${r.route}: throughput ≥ ${TARGETS.throughput}× /health`,
        r.throughput_x_health,
        r.throughput_x_health >= TARGETS.throughput,
      ]);
    const p99Target = r.rps === null ? TARGETS.delivery : TARGETS.p99;
    checks.push([
      `${r.route}: p99 ≤ ${p99Target}× /health's`,
      r.p99_x_health,
      r.p99_x_health !== null && r.p99_x_health <= p99Target,
    ]);
    if (r.solo_p50_x_health !== null)
      checks.push([
        `${r.route}: one at a time, p50 ≤ ${TARGETS.soloP50}× /health's`,
        r.solo_p50_x_health,
        r.solo_p50_x_health <= TARGETS.soloP50,
      ]);
    if (r.faults !== undefined)
      checks.push([`${r.route}: 0 drops, gaps or missing messages`, r.faults, r.faults === 0]);
  }
  // Only when `npm run bench` ran: it measures the app's /health/live.
  if (appLive) {
    const live = ratio(appLive.rps, bare["/health/live"].rps);
    checks.push([
      `the app's /health/live ≥ ${TARGETS.live}× the bare Hono route`,
      live,
      live !== null && live >= TARGETS.live,
    ]);
  }
  return checks.map(([target, value, pass]) => ({ target, value, pass }));
}

async function main() {
  checkEnvironment("npm run bench:all");
  const only = process.env.BENCH_ALL_ONLY?.split(",").map((s) => s.trim());
  const benches = only ? BENCHES.filter((b) => only.includes(b.id)) : BENCHES;
  freshStateDir();
  const bare = await measureBare();

  const rows = [];
  const failures = [];
  for (const bench of benches) {
    const outcome = runBench(bench);
    if (outcome.error) {
      failures.push(`${bench.script}: ${outcome.error}`);
      continue;
    }
    if (outcome.failed) failures.push(`${bench.script}: reported a failed check (see its log)`);
    for (const row of outcome.rows) {
      const d1Bare = row.route === "GET /health/live" ? bare["/health/live"] : bare["/health"];
      rows.push({
        ...row,
        bench: bench.id,
        throughput_x_health: ratio(row.rps, row.health.rps),
        throughput_x_bare: ratio(row.rps, d1Bare.rps),
        p99_x_health: ratio(row.p99_ms, row.health.p99_ms),
        p99_x_bare: ratio(row.p99_ms, d1Bare.p99_ms),
        solo_p50_x_health: ratio(row.solo_p50_ms, row.health.solo_p50_ms),
      });
    }
  }
  printTable(rows, bare);
  const checks = evaluate(
    rows,
    bare,
    rows.find((r) => r.route === "GET /health/live"),
  );
  console.log("\nTargets (informational):");
  for (const c of checks) {
    const value = typeof c.value === "number" ? `: ${fixed(c.value, 2)}` : "";
    console.log(`${c.pass ? "PASS" : "FAIL"}  ${c.target}${value}`);
  }
  for (const failure of failures) console.log(`ERROR ${failure}`);
  const report = {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    bare,
    rows,
    checks,
    failures,
  };
  writeResults("all.json", report);
  const dated = join(RESULTS_DIR, `all-${report.finished_at.replace(/[:.]/g, "-")}.json`);
  copyFileSync(join(RESULTS_DIR, "all.json"), dated);
  log(`a copy for comparing runs: ${dated}`);
  return failures.length === 0 ? 0 : 1;
}

await runMain(main);
