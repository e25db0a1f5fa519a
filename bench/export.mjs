// `npm run bench:export`: a full account export of 100,000 tasks and 500,000 steps (issue 18, BE-09).
//
// 1. Registers a user, stops the server and writes BENCH_EXPORT_TASKS (default 100,000) tasks with
//    BENCH_EXPORT_STEPS_PER_TASK (default 5) steps each straight into the local D1 file (node:sqlite),
//    ids UUIDv7 over the past year, as the Worker makes them.
// 2. Starts the server again, measures GET /health alone (1 connection, 5 s), then drives exports
//    through the HTTP API as a client would: POST /api/v1/export, GET its status until completed, GET the
//    signed download link and read the file through. Meanwhile /proc/<pid>/status of the server's
//    workerd process is sampled every 100 ms (VmRSS; VmHWM before and after), and GET /health is probed
//    every 250 ms. Wall time to completed, peak memory above the idle baseline, the download's size and
//    row counts, and /health's latency during the export are printed and written to
//    bench/results/export.json.
//
// Targets: under 60 s to completed, memory flat (< 64 MB above baseline). Exit 0 when the run completed
// (targets informational), 1 on setup failure, a failed export or a file that does not hold every row.
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

const TASKS = positiveInt("BENCH_EXPORT_TASKS", 100_000);
const STEPS_PER_TASK = positiveInt("BENCH_EXPORT_STEPS_PER_TASK", 5);
const TARGET_SECONDS = 60;
const TARGET_MEMORY_MB = 64;
const _SAMPLE_MS = 100;
const _HEALTH_PROBE_MS = 250;
const TIMEOUT_MS = 10 * 60_000;
const _DAY_MS = 86_400_000;
const MB = 1024 * 1024;

/** Reads the download through, counting bytes and keeping the end (where the summary is). */
async function readDownload(url, format) {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`download answered ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  let bytes = 0;
  let tail = new Uint8Array(0);
  let lines = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    for (const b of value) if (b === 0x0a) lines += 1;
    const joined = new Uint8Array(tail.length + value.length);
    joined.set(tail);
    joined.set(value, tail.length);
    tail = joined.slice(-64 * 1024);
  }
  const seconds = (performance.now() - started) / 1000;
  const headers = {
    content_length: Number(res.headers.get("content-length")),
    content_type: res.headers.get("content-type"),
    content_disposition: res.headers.get("content-disposition"),
  };
  if (format === "json") {
    const text = new TextDecoder().decode(tail);
    const summary = JSON.parse(text.slice(text.lastIndexOf('"summary":') + 10, text.lastIndexOf("}")));
    return { bytes, seconds, headers, counts: summary.counts, rows: summary.rows };
  }
  // The CSV: one header line, then a line per task and per step (no line breaks inside these fields).
  return { bytes, seconds, headers, rows: lines - 1 };
}

/** Runs one export through the API; answers its timings, progress, memory and /health figures. */
async function runExport(base, token, format, pids, inspector, baseline) {
  const watch = startWatching(base, pids, inspector);
  const started = performance.now();
  const created = await request(base, "POST", "/api/v1/export", { token, body: { format }, expected: 202 });
  const progress = [];
  let status = created;
  while (status.status !== "completed") {
    if (status.status === "failed") throw new Error(`the ${format} export failed: ${status.error}`);
    if (performance.now() - started > TIMEOUT_MS)
      throw new Error(`the ${format} export did not finish in time`);
    await sleep(250);
    status = await request(base, "GET", `/api/v1/export/${created.export_id}`, { token, expected: 200 });
    progress.push({ s: (performance.now() - started) / 1000, percent: status.progress.percent });
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const { samples, heaps, health } = await watch();
  const peakHeapUsed = Math.max(...heaps.map((h) => h.used));
  const peakHeapTotal = Math.max(...heaps.map((h) => h.total));
  const heapQuarter = heaps.filter((h) => h.at - started <= (wallSeconds * 1000) / 4);
  const peak = Math.max(...samples.map((s) => s.rss));
  const peakAnon = Math.max(...samples.map((s) => s.anon));
  // Flat means it stops growing: the heaps' peak over the first quarter of the run against the whole.
  const quarter = samples.filter((s) => s.at - started <= (wallSeconds * 1000) / 4);
  const peakAnonFirstQuarter = Math.max(...quarter.map((s) => s.anon));
  const after = memoryOf(pids);
  const download = await readDownload(status.download_url, format);
  const healthMs = health.filter((h) => h.status === 200).map((h) => h.ms);
  const result = {
    format,
    export_id: created.export_id,
    wall_s: wallSeconds,
    rows_written: status.progress.rows_written,
    rows_total: status.progress.rows_total,
    bytes: status.bytes,
    rows_per_s: status.progress.rows_written / wallSeconds,
    mb_per_s: status.bytes / MB / wallSeconds,
    progress_seen: [...new Set(progress.map((p) => p.percent))],
    isolate_heap: {
      baseline_used_mb: baseline.heap.used / MB,
      baseline_total_mb: baseline.heap.total / MB,
      peak_used_mb: peakHeapUsed / MB,
      peak_total_mb: peakHeapTotal / MB,
      peak_used_above_baseline_mb: (peakHeapUsed - baseline.heap.used) / MB,
      peak_total_above_baseline_mb: (peakHeapTotal - baseline.heap.total) / MB,
      peak_used_first_quarter_mb: Math.max(...heapQuarter.map((h) => h.used)) / MB,
      samples: heaps.length,
    },
    memory: {
      baseline_anon_mb: baseline.anon / MB,
      peak_anon_mb: peakAnon / MB,
      peak_anon_above_baseline_mb: (peakAnon - baseline.anon) / MB,
      peak_anon_first_quarter_above_baseline_mb: (peakAnonFirstQuarter - baseline.anon) / MB,
      baseline_file_mb: baseline.file / MB,
      file_after_mb: after.file / MB,
      baseline_rss_mb: baseline.rss / MB,
      peak_rss_mb: peak / MB,
      peak_above_baseline_mb: (peak - baseline.rss) / MB,
      rss_after_mb: after.rss / MB,
      hwm_before_mb: baseline.hwm / MB,
      hwm_after_mb: after.hwm / MB,
      samples: samples.length,
    },
    health_during: {
      probes: health.length,
      failures: health.filter((h) => h.status !== 200).length,
      p50_ms: percentile(healthMs, 50),
      p99_ms: percentile(healthMs, 99),
      max_ms: healthMs.length ? Math.max(...healthMs) : null,
    },
    download,
  };
  log(
    `${format}: completed in ${wallSeconds.toFixed(1)} s, ${result.rows_written} rows, ` +
      `${(status.bytes / MB).toFixed(1)} MB, heaps (RssAnon) +${result.memory.peak_anon_above_baseline_mb.toFixed(1)} MB ` +
      `at peak, VmRSS +${result.memory.peak_above_baseline_mb.toFixed(1)} MB`,
  );
  return result;
}

async function main() {
  checkEnvironment("npm run bench:export");
  log(`config: ${TASKS} tasks × ${STEPS_PER_TASK} steps`);
  prepareState();
  let base = await startServer();
  const credentials = {
    email: `bench-${Date.now()}@example.com`,
    password: randomBytes(18).toString("base64url"),
  };
  const auth = await request(base, "POST", "/api/v1/auth/register", {
    body: { ...credentials, display_name: "Bench" },
    expected: 201,
  });
  await stopServer();
  const seeded = seedAccount(auth.user.id, { tasks: TASKS, stepsPerTask: STEPS_PER_TASK });

  const inspectorPort = await freePort();
  base = await startServer({}, { args: ["--inspector-port", String(inspectorPort)] });
  const pids = workerdPids();
  if (pids.length === 0) throw new Error("could not find the server's workerd process under /proc");
  const inspector = await connectInspector(inspectorPort);
  const login = async () =>
    (await request(base, "POST", "/api/v1/auth/login", { body: credentials, expected: 200 })).access_token;
  const health = await runPass(
    base,
    [{ name: "GET /health", method: "GET", path: "/health" }],
    1,
    positiveInt("BENCH_SOLO_DURATION", 5),
    1,
  );
  // Idle again after the pass: the baseline each export's memory is measured against.
  const baseline = async () => {
    await sleep(2000);
    return { ...memoryOf(pids), heap: (await inspector.heap()) ?? { used: 0, total: 0 } };
  };
  const json = await runExport(base, await login(), "json", pids, inspector, await baseline());
  const csv = await runExport(base, await login(), "csv", pids, inspector, await baseline());
  inspector.close();

  const expectedJsonRows = seeded.tasks + seeded.steps;
  const jsonComplete =
    json.download.counts?.tasks === seeded.tasks &&
    json.download.counts?.micro_steps === seeded.steps &&
    json.download.rows >= expectedJsonRows &&
    json.download.bytes === json.bytes;
  const csvComplete = csv.download.rows === expectedJsonRows && csv.download.bytes === csv.bytes;

  console.log(
    `\n${table(
      [
        "export",
        "wall s",
        "rows",
        "MB",
        "rows/s",
        "isolate MB idle",
        "isolate MB peak",
        "isolate +MB",
        "isolate +MB (¼ run)",
        `< ${TARGET_SECONDS} s`,
        `+${TARGET_MEMORY_MB} MB`,
      ],
      [json, csv].map((r) => [
        r.format,
        fixed(r.wall_s, 1),
        r.rows_written,
        fixed(r.bytes / MB, 1),
        fixed(r.rows_per_s, 0),
        fixed(r.isolate_heap.baseline_used_mb, 1),
        fixed(r.isolate_heap.peak_used_mb, 1),
        fixed(r.isolate_heap.peak_used_above_baseline_mb, 1),
        fixed(r.isolate_heap.peak_used_first_quarter_mb - r.isolate_heap.baseline_used_mb, 1),
        r.wall_s < TARGET_SECONDS ? "PASS" : "FAIL",
        r.isolate_heap.peak_used_above_baseline_mb < TARGET_MEMORY_MB ? "PASS" : "FAIL",
      ]),
    )}`,
  );
  console.log(
    `\n${table(
      [
        "workerd process",
        "VmRSS +MB",
        "RssAnon +MB",
        "RssAnon +MB (¼ run)",
        "mapped files MB",
        "/health p50 ms",
        "/health p99 ms",
        "failed probes",
      ],
      [json, csv].map((r) => [
        r.format,
        fixed(r.memory.peak_above_baseline_mb, 1),
        fixed(r.memory.peak_anon_above_baseline_mb, 1),
        fixed(r.memory.peak_anon_first_quarter_above_baseline_mb, 1),
        `${fixed(r.memory.baseline_file_mb, 0)} → ${fixed(r.memory.file_after_mb, 0)}`,
        fixed(r.health_during.p50_ms, 1),
        fixed(r.health_during.p99_ms, 1),
        r.health_during.failures,
      ]),
    )}`,
  );
  const solo = health[0];
  console.log(
    `\nGET /health alone (1 connection): ${fixed(solo?.rps, 1)} req/s, p50 ${solo?.p50_ms} ms, p99 ${solo?.p99_ms} ms`,
  );
  console.log(`download: json ${fixed(json.download.seconds, 1)} s, csv ${fixed(csv.download.seconds, 1)} s`);
  console.log(
    `every row in the files: json ${jsonComplete ? "yes" : "NO"}, csv ${csvComplete ? "yes" : "NO"}`,
  );
  writeResults("export.json", {
    seeded,
    health: solo,
    json,
    csv,
    json_complete: jsonComplete,
    csv_complete: csvComplete,
  });
  return jsonComplete && csvComplete ? 0 : 1;
}

runMain(main);
