// `npm run bench:restore`: a full restore of an account of 100,000 tasks and 500,000 steps (issue 18, BE-09).
//
// 1. Registers two users, stops the server and seeds the first exactly as bench/export.mjs does
//    (BENCH_RESTORE_TASKS, default 100,000, × BENCH_RESTORE_STEPS_PER_TASK, default 5, straight into
//    the local D1 file).
// 2. Starts the server again (with the inspector), measures GET /health alone (1 connection, 5 s), exports
//    the first account as JSON through the API, then restores it into the second by its signed link:
//    POST /api/v1/import?source=export {"download_url"} (the preview), POST …/commit {"mode":"merge"}, and
//    GET the import until completed. Meanwhile the Worker isolate's heap (DevTools Runtime.getHeapUsage,
//    as bench/export.mjs) and the workerd process's memory are sampled every 100 ms, and /health probed.
// 3. Checks the restore's result: every task and step created.
//
// Targets: under 60 s to completed, memory flat (< 64 MB above baseline). Exit 0 when the restore
// completed with every row (targets informational), 1 otherwise. Figures in bench/results/restore.json.
import { randomBytes } from "node:crypto";
import {
  connectInspector,
  freePort,
  memoryOf,
  percentile,
  seedAccount,
  startWatching,
  workerdPids,
} from "./account.mjs";
import {
  checkEnvironment,
  fixed,
  log,
  positiveInt,
  prepareState,
  request,
  runMain,
  runPass,
  sleep,
  startServer,
  stopServer,
  table,
  writeResults,
} from "./lib.mjs";

const TASKS = positiveInt("BENCH_RESTORE_TASKS", 100_000);
const STEPS_PER_TASK = positiveInt("BENCH_RESTORE_STEPS_PER_TASK", 5);
const TARGET_SECONDS = 60;
const TARGET_MEMORY_MB = 64;
const _SAMPLE_MS = 100;
const _HEALTH_PROBE_MS = 250;
const TIMEOUT_MS = 15 * 60_000;
const _DAY_MS = 86_400_000;
const MB = 1024 * 1024;

/** Polls `path` until `done(status)`; throws on failure or timeout. */
async function waitFor(base, token, path, isDone, what) {
  const started = performance.now();
  const seen = [];
  for (;;) {
    const status = await request(base, "GET", path, { token, expected: 200 });
    seen.push(status.progress?.percent);
    if (status.status === "failed") throw new Error(`${what} failed: ${status.error}`);
    if (isDone(status)) return { status, seen: [...new Set(seen)] };
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`${what} did not finish in time`);
    await sleep(250);
  }
}

async function main() {
  checkEnvironment("npm run bench:restore");
  log(`config: ${TASKS} tasks × ${STEPS_PER_TASK} steps`);
  prepareState();
  let base = await startServer();
  const credentials = (who) => ({
    email: `bench-${who}-${Date.now()}@example.com`,
    password: randomBytes(18).toString("base64url"),
  });
  const sourceCredentials = credentials("source");
  const targetCredentials = credentials("target");
  const source = await request(base, "POST", "/api/v1/auth/register", {
    body: { ...sourceCredentials, display_name: "Bench" },
    expected: 201,
  });
  await request(base, "POST", "/api/v1/auth/register", {
    body: { ...targetCredentials, display_name: "Bench restore" },
    expected: 201,
  });
  await stopServer();
  const seeded = seedAccount(source.user.id, { tasks: TASKS, stepsPerTask: STEPS_PER_TASK });

  const inspectorPort = await freePort();
  base = await startServer({}, { args: ["--inspector-port", String(inspectorPort)] });
  const pids = workerdPids();
  if (pids.length === 0) throw new Error("could not find the server's workerd process under /proc");
  const inspector = await connectInspector(inspectorPort);
  const login = async (c) =>
    (await request(base, "POST", "/api/v1/auth/login", { body: c, expected: 200 })).access_token;
  const health = await runPass(
    base,
    [{ name: "GET /health", method: "GET", path: "/health" }],
    1,
    positiveInt("BENCH_SOLO_DURATION", 5),
    1,
  );

  const exportStarted = performance.now();
  const sourceToken = await login(sourceCredentials);
  const created = await request(base, "POST", "/api/v1/export", {
    token: sourceToken,
    body: { format: "json" },
    expected: 202,
  });
  const exported = await waitFor(
    base,
    sourceToken,
    `/api/v1/export/${created.export_id}`,
    (s) => s.status === "completed",
    "the export",
  );
  const exportSeconds = (performance.now() - exportStarted) / 1000;
  log(`exported in ${exportSeconds.toFixed(1)} s: ${(exported.status.bytes / MB).toFixed(1)} MB`);

  await sleep(2000);
  const baseline = { ...memoryOf(pids), heap: (await inspector.heap()) ?? { used: 0, total: 0 } };
  const token = await login(targetCredentials);
  const watch = startWatching(base, pids, inspector);
  const started = performance.now();
  const previewed = await request(base, "POST", "/api/v1/import?source=export", {
    token,
    body: { download_url: exported.status.download_url },
    expected: 201,
  });
  const previewSeconds = (performance.now() - started) / 1000;
  await request(base, "POST", `/api/v1/import/${previewed.import_id}/commit`, {
    token,
    body: { mode: "merge" },
    expected: 202,
  });
  const restored = await waitFor(
    base,
    token,
    `/api/v1/import/${previewed.import_id}`,
    (s) => s.status === "completed",
    "the restore",
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const { samples, heaps, health: probes } = await watch();
  inspector.close();
  const peakHeapUsed = Math.max(...heaps.map((h) => h.used));
  const heapQuarter = heaps.filter((h) => h.at - started <= (wallSeconds * 1000) / 4);
  const peakAnon = Math.max(...samples.map((s) => s.anon));
  const healthMs = probes.filter((h) => h.status === 200).map((h) => h.ms);
  const result = restored.status.result;
  const complete = result?.created === seeded.tasks && result?.steps === seeded.steps;
  const report = {
    seeded,
    health: health[0],
    export: { seconds: exportSeconds, bytes: exported.status.bytes },
    restore: {
      import_id: previewed.import_id,
      preview_s: previewSeconds,
      wall_s: wallSeconds,
      rows: restored.status.progress.items_total,
      rows_per_s: restored.status.progress.items_total / wallSeconds,
      result,
      progress_seen: restored.seen,
      isolate_heap: {
        baseline_used_mb: baseline.heap.used / MB,
        peak_used_mb: peakHeapUsed / MB,
        peak_used_above_baseline_mb: (peakHeapUsed - baseline.heap.used) / MB,
        peak_used_first_quarter_mb: Math.max(...heapQuarter.map((h) => h.used)) / MB,
        samples: heaps.length,
      },
      memory: {
        baseline_anon_mb: baseline.anon / MB,
        peak_anon_above_baseline_mb: (peakAnon - baseline.anon) / MB,
        baseline_file_mb: baseline.file / MB,
      },
      health_during: {
        probes: probes.length,
        failures: probes.filter((h) => h.status !== 200).length,
        p50_ms: percentile(healthMs, 50),
        p99_ms: percentile(healthMs, 99),
        max_ms: healthMs.length ? Math.max(...healthMs) : null,
      },
    },
    complete,
  };
  const r = report.restore;
  console.log(
    `\n${table(
      [
        "restore",
        "file MB",
        "wall s",
        "rows",
        "rows/s",
        "isolate MB idle",
        "isolate MB peak",
        "isolate +MB",
        "RssAnon +MB",
        `< ${TARGET_SECONDS} s`,
        `+${TARGET_MEMORY_MB} MB`,
      ],
      [
        [
          "by link",
          fixed(exported.status.bytes / MB, 1),
          fixed(r.wall_s, 1),
          r.rows,
          fixed(r.rows_per_s, 0),
          fixed(r.isolate_heap.baseline_used_mb, 1),
          fixed(r.isolate_heap.peak_used_mb, 1),
          fixed(r.isolate_heap.peak_used_above_baseline_mb, 1),
          fixed(r.memory.peak_anon_above_baseline_mb, 1),
          r.wall_s < TARGET_SECONDS ? "PASS" : "FAIL",
          r.isolate_heap.peak_used_above_baseline_mb < TARGET_MEMORY_MB ? "PASS" : "FAIL",
        ],
      ],
    )}`,
  );
  const solo = health[0];
  console.log(
    `\nGET /health alone (1 connection): ${fixed(solo?.rps, 1)} req/s, p50 ${solo?.p50_ms} ms, p99 ${solo?.p99_ms} ms; ` +
      `during the restore: p50 ${fixed(r.health_during.p50_ms, 1)} ms, p99 ${fixed(r.health_during.p99_ms, 1)} ms, ${r.health_during.failures} failed`,
  );
  console.log(
    `export ${fixed(exportSeconds, 1)} s; preview ${fixed(previewSeconds, 1)} s; result ${JSON.stringify(result)}`,
  );
  console.log(`every task and step restored: ${complete ? "yes" : "NO"}`);
  writeResults("restore.json", report);
  return complete ? 0 : 1;
}

runMain(main);
