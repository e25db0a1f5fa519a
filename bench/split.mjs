// `npm run bench:split`: 100 concurrent task splits by the local splitter over HTTP on a throwaway
// `wrangler dev`, as the issue asks (the original system: about 1.2 s a split, 95% success at 100
// concurrent). 100 users each get one task (the README's real-life tasks in turn). Then, in rounds:
// 100 concurrent GET /health (the baseline in the same run), 100 concurrent suggestions, 100 concurrent
// applied splits (steps written to D1); and 100 splits one at a time. Each prints total time, p50/p99
// and failures. Finally a sustained autocannon pass (BENCH_CONNECTIONS, default 50) of splits vs /health.
//
// Env: BENCH_PORT, BENCH_SPLITS (default 100), BENCH_ROUNDS (default 5), BENCH_DURATION (s, default 10),
// BENCH_CONNECTIONS (default 50).
// Exit: 0 when the run completed (targets are informational), 1 on setup failure or any failed split.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  checkEnvironment,
  log,
  mapConcurrent,
  positiveInt,
  prepareState,
  printTargetTable,
  ROOT,
  reportProblems,
  request,
  runMain,
  runPass,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";
import { profileEachRoute } from "./profile.mjs";

const SPLITS = positiveInt("BENCH_SPLITS", 100);
const ROUNDS = positiveInt("BENCH_ROUNDS", 5);
const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const SETUP_CONCURRENCY = 10;
const TARGET_P99_MS = 50;

const TITLES = [
  ...readFileSync(join(ROOT, "tests/helpers/real-life-tasks.ts"), "utf8").matchAll(/^\s+"([^"]+)",$/gm),
].map((m) => m[1]);

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Fires every request at once; returns total time, p50/p99 and how many failed. */
async function burst(name, base, items, makeRequest) {
  const started = performance.now();
  const results = await Promise.all(
    items.map(async (item) => {
      const t = performance.now();
      try {
        const { method, path, token, body, check } = makeRequest(item);
        const headers = { accept: "application/json", authorization: `Bearer ${token}` };
        if (body) headers["content-type"] = "application/json";
        const res = await fetch(`${base}${path}`, { method, headers, body: body && JSON.stringify(body) });
        const json = await res.json();
        const ok = res.ok && (!check || check(json));
        return { ms: performance.now() - t, ok };
      } catch {
        return { ms: performance.now() - t, ok: false };
      }
    }),
  );
  const total = performance.now() - started;
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    name,
    requests: results.length,
    failures: results.filter((r) => !r.ok).length,
    total_ms: total,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
  };
}

/** Runs `fn` one after another; returns total time, p50/p99 and failures. */
async function oneAtATime(name, base, items, makeRequest) {
  const rows = [];
  for (const item of items) rows.push(await burst(name, base, [item], makeRequest));
  const sorted = rows.map((r) => r.p50_ms).sort((a, b) => a - b);
  return {
    name,
    requests: rows.length,
    failures: rows.reduce((n, r) => n + r.failures, 0),
    total_ms: rows.reduce((n, r) => n + r.total_ms, 0),
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
  };
}

// "Email inbox zero" is also a platform template's name: that task is answered by the template.
const isUsefulSplit = (split) =>
  (split.split_method === "local" || split.split_method === "template") &&
  split.suggested_steps.length >= 3 &&
  split.suggested_steps.every((s) => s.estimated_minutes >= 1 && s.estimated_minutes <= 10);

async function setUpUser(base, i) {
  const auth = await request(base, "POST", "/api/v1/auth/register", {
    body: { email: `bench-split-${i}-${Date.now()}@example.com`, password: `bench-split-password-${i}` },
    expected: 201,
  });
  const token = auth.access_token;
  const makeTask = async () =>
    (
      await request(base, "POST", "/api/v1/tasks", {
        token,
        body: { title: TITLES[i % TITLES.length] },
        expected: 201,
      })
    ).task_id;
  // One task for suggestions, and a fresh one for each round's applied split (a project is split once).
  const taskId = await makeTask();
  const applyTaskIds = [];
  for (let round = 0; round < ROUNDS; round++) applyTaskIds.push(await makeTask());
  return { token, taskId, applyTaskIds };
}

function printBursts(title, rows) {
  console.log(`\n${title}`);
  console.log(
    table(
      ["What", "Requests", "Failures", "Total ms", "p50 ms", "p99 ms", `p99 < ${TARGET_P99_MS} ms`],
      rows.map((r) => [
        r.name,
        String(r.requests),
        String(r.failures),
        r.total_ms.toFixed(0),
        r.p50_ms.toFixed(1),
        r.p99_ms.toFixed(1),
        r.name.startsWith("GET /health") ? "-" : r.p99_ms < TARGET_P99_MS ? "PASS" : "FAIL",
      ]),
    ),
  );
}

async function main() {
  checkEnvironment("npm run bench:split");
  log(
    `config: ${SPLITS} concurrent splits × ${ROUNDS} rounds, then ${CONNECTIONS} connections for ${DURATION} s`,
  );
  prepareState();
  const base = await startServer();
  const users = await mapConcurrent(
    Array.from({ length: SPLITS }, (_, i) => i),
    SETUP_CONCURRENCY,
    (i) => setUpUser(base, i),
  );
  log(
    `${SPLITS} users registered, each with ${ROUNDS + 1} tasks (${TITLES.length} real-life titles in turn)`,
  );

  const health = (u) => ({ method: "GET", path: "/health", token: u.token });
  const suggest = (u) => ({
    method: "POST",
    path: `/api/v1/tasks/split/${u.taskId}`,
    token: u.token,
    body: { energy_level: "medium", difficulty: 3, splitter: "local" },
    check: isUsefulSplit,
  });
  const apply = (round) => (u) => ({
    ...suggest(u),
    path: `/api/v1/tasks/split/${u.applyTaskIds[round - 1]}`,
    body: { ...suggest(u).body, apply: true },
    check: (s) => s.applied && isUsefulSplit(s),
  });

  // Warm-up: every code path once.
  await burst("warm-up", base, users.slice(0, 10), suggest);
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    rounds.push({ ...(await burst("GET /health", base, users, health)), round });
    rounds.push({ ...(await burst("split (suggest)", base, users, suggest)), round });
    rounds.push({ ...(await burst("split (apply: true)", base, users, apply(round))), round });
  }
  const sequential = [
    await oneAtATime("GET /health, one at a time", base, users, health),
    await oneAtATime("split (suggest), one at a time", base, users, suggest),
  ];

  let n = 0;
  const headers = { "content-type": "application/json", accept: "application/json" };
  const splitBody = JSON.stringify({ energy_level: "low", difficulty: 4, splitter: "local" });
  const sustained = await runPass(
    base,
    [
      { name: "GET /health", method: "GET", path: "/health" },
      {
        name: "POST /api/v1/tasks/split/{id} (suggest)",
        method: "POST",
        path: "/api/v1/tasks/split/x",
        headers,
        body: splitBody,
        options: () => ({
          requests: [
            {
              method: "POST",
              path: "/api/v1/tasks/split/x",
              setupRequest: (req) => {
                n += 1;
                const user = users[n % users.length];
                return {
                  ...req,
                  path: `/api/v1/tasks/split/${user.taskId}`,
                  headers: { ...headers, authorization: `Bearer ${user.token}` },
                  body: splitBody,
                };
              },
            },
          ],
        }),
      },
    ],
    CONNECTIONS,
    DURATION,
    2,
    { measure: profileEachRoute("split") },
  );
  await stopServer();

  const summary = ["GET /health", "split (suggest)", "split (apply: true)"].map((name) => {
    const rows = rounds.filter((r) => r.name === name);
    const median = (key) => rows.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
    return {
      name: `${name} (median of ${rows.length} rounds)`,
      requests: rows.reduce((t, r) => t + r.requests, 0),
      failures: rows.reduce((t, r) => t + r.failures, 0),
      total_ms: median("total_ms"),
      p50_ms: median("p50_ms"),
      p99_ms: median("p99_ms"),
    };
  });
  printBursts(
    `${SPLITS} requests at once, each round (local splitter)`,
    rounds.map((r) => ({ ...r, name: `#${r.round} ${r.name}` })),
  );
  printBursts(`${SPLITS} at once: medians over ${ROUNDS} rounds`, summary);
  const [h, s] = summary;
  log(
    `ratio of split (suggest) to /health: p50 ${(s.p50_ms / h.p50_ms).toFixed(2)}×, p99 ${(s.p99_ms / h.p99_ms).toFixed(2)}×, total ${(s.total_ms / h.total_ms).toFixed(2)}×`,
  );
  printBursts(`${SPLITS} requests one at a time`, sequential);
  printTargetTable(
    `Sustained: ${CONNECTIONS} connections, ${DURATION} s per route`,
    sustained,
    TARGET_P99_MS,
  );

  const failures = [...rounds, ...sequential].reduce((t, r) => t + r.failures, 0);
  const bad = reportProblems(sustained);
  writeResults("split.json", {
    finished_at: new Date().toISOString(),
    config: { splits: SPLITS, rounds: ROUNDS, connections: CONNECTIONS, duration_s: DURATION },
    rounds,
    summary,
    sequential,
    sustained,
    ok: failures === 0 && bad.length === 0,
  });
  if (failures > 0) log(`ERROR ${failures} splits failed`);
  return failures === 0 && bad.length === 0 ? 0 : 1;
}

await runMain(main);
