// `npm run bench:imports`: a Todoist CSV of BENCH_IMPORT_ROWS rows (default 10,000) through a local
// `wrangler dev`: the upload's preview (one request: the whole file read, duplicates checked, the file
// stored in R2), then the commit through the pap-imports queue until the tasks appear, and a second
// upload of the same file (every item a duplicate). Prints wall times, the CPU the local server spent
// on each step, and the job's progress as it moves; results go to bench/results/imports.json. See
// bench/README.md.
//
// Exit: 0 when the run completed (figures are informational), 1 on setup failure or a wrong answer.
import {
  checkEnvironment,
  log,
  positiveInt,
  prepareState,
  registerUser,
  request,
  runMain,
  serverCpuSeconds,
  sleep,
  startServer,
  table,
  writeResults,
} from "./lib.mjs";

const ROWS = positiveInt("BENCH_IMPORT_ROWS", 10_000);
const HEADER =
  "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT";

/** A Todoist export of `rows` tasks: sections of 50, every fifth task with two sub-tasks, dates, labels. */
function todoistCsv(rows) {
  const lines = [HEADER, "meta,view_style=list,,,,,,,,,,"];
  let written = 0;
  for (let section = 0; written < rows; section++) {
    lines.push(`section,"Area ${section}, part ${section % 7}",,,,,,,,,,`);
    for (let i = 0; i < 50 && written < rows; i++, written++) {
      const indent = i % 5 === 0 ? 1 : i % 5 < 3 ? 2 : 1;
      const day = String((written % 28) + 1).padStart(2, "0");
      const date = written % 3 === 0 ? `2025-06-${day} 09:30` : written % 3 === 1 ? "tomorrow 5pm" : "";
      const priority = (written % 4) + 1;
      lines.push(
        `task,"Task ${written} @label${written % 9} ""quoted""",Notes for task ${written},${priority},${indent},Bench (1),,${date},en,Europe/Berlin,${(written % 6) * 5 || ""},${written % 6 ? "minute" : ""}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Wall and CPU (of the whole local server) of `fn`. */
async function measured(fn) {
  const cpu = serverCpuSeconds();
  const value = await fn();
  const after = serverCpuSeconds();
  return { ...value, cpu: cpu === null || after === null ? null : after - cpu };
}

const cpuText = (s) => (s === null ? "-" : `${s.toFixed(1)} s`);

async function upload(base, token, csv) {
  const started = performance.now();
  const res = await fetch(`${base}/api/v1/import?source=todoist`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" },
    body: csv,
    signal: AbortSignal.timeout(600_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${text.slice(0, 2000)}`);
  return { ms: performance.now() - started, job: JSON.parse(text) };
}

async function commitAndWait(base, token, importId) {
  const started = performance.now();
  await request(base, "POST", `/api/v1/import/${importId}/commit`, {
    token,
    body: { mode: "merge" },
    expected: 202,
  });
  const progress = [];
  for (;;) {
    const job = await request(base, "GET", `/api/v1/import/${importId}`, { token, expected: 200 });
    const at = ((performance.now() - started) / 1000).toFixed(1);
    if (progress.at(-1)?.done !== job.progress.items_done)
      progress.push({ at, done: job.progress.items_done });
    if (job.status === "completed" || job.status === "failed") {
      return { ms: performance.now() - started, job, progress };
    }
    if (performance.now() - started > 600_000)
      throw new Error(`the import did not finish in 10 minutes: ${JSON.stringify(job)}`);
    await sleep(250);
  }
}

async function main() {
  checkEnvironment("npm run bench:imports");
  prepareState();
  const base = await startServer({ CATEGORISER: "local" });
  const token = await registerUser(base);
  const csv = todoistCsv(ROWS);
  log(`a Todoist CSV of ${ROWS} tasks, ${(csv.length / 1024 / 1024).toFixed(2)} MiB`);

  const first = await measured(() => upload(base, token, csv));
  log(`preview: ${first.job.preview.counts.tasks} tasks in ${(first.ms / 1000).toFixed(2)} s`);
  const run = await measured(() => commitAndWait(base, token, first.job.import_id));
  if (run.job.status !== "completed" || run.job.result.created !== ROWS) {
    throw new Error(`the import ended ${JSON.stringify(run.job)}`);
  }
  log(`commit: ${run.job.result.created} tasks in ${(run.ms / 1000).toFixed(1)} s`);
  const again = await measured(() => upload(base, token, csv));
  const rerun = await measured(() => commitAndWait(base, token, again.job.import_id));
  if (rerun.job.result.skipped_duplicates !== ROWS)
    throw new Error(`the second import ended ${JSON.stringify(rerun.job)}`);

  console.log(
    table(
      ["step", "wall time", "server CPU", "what"],
      [
        [
          "preview",
          `${(first.ms / 1000).toFixed(2)} s`,
          cpuText(first.cpu),
          `${ROWS} rows read, duplicates checked, file and item parts stored`,
        ],
        [
          "commit",
          `${(run.ms / 1000).toFixed(1)} s`,
          cpuText(run.cpu),
          `${run.job.result.created} tasks, from 202 to completed`,
        ],
        [
          "preview again",
          `${(again.ms / 1000).toFixed(2)} s`,
          cpuText(again.cpu),
          `${again.job.preview.counts.duplicates} duplicates found`,
        ],
        [
          "commit again",
          `${(rerun.ms / 1000).toFixed(1)} s`,
          cpuText(rerun.cpu),
          `${rerun.job.result.skipped_duplicates} skipped`,
        ],
      ],
    ),
  );
  console.log(
    `progress seen while it ran (seconds → items done): ${run.progress.map((p) => `${p.at}→${p.done}`).join(", ")}`,
  );
  writeResults("imports.json", {
    rows: ROWS,
    bytes: csv.length,
    preview_ms: Math.round(first.ms),
    commit_ms: Math.round(run.ms),
    second_preview_ms: Math.round(again.ms),
    second_commit_ms: Math.round(rerun.ms),
    // CPU seconds of the whole local server (wrangler, workerd with D1 and R2) during each step.
    preview_cpu_s: first.cpu,
    commit_cpu_s: run.cpu,
    second_preview_cpu_s: again.cpu,
    second_commit_cpu_s: rerun.cpu,
    progress: run.progress,
  });
  return 0;
}

await runMain(main);
