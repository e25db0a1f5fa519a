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
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { DatabaseSync } from "node:sqlite";
import {
  checkEnvironment,
  d1File,
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
const SAMPLE_MS = 100;
const HEALTH_PROBE_MS = 250;
const TIMEOUT_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const MB = 1024 * 1024;

/** A seeded PRNG (mulberry32): the same account on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUIDv7 for time `ms`, like the Worker's newId. */
function uuidv7(ms) {
  const hex = ms.toString(16).padStart(12, "0");
  const rand = randomBytes(10).toString("hex");
  const variant = ((Number.parseInt(rand.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-${variant}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

const VERBS = ["Write", "Review", "Call", "Plan", "Tidy", "Read", "Book", "Email", "Fix", "Prepare"];
const THINGS = [
  "the report",
  "mum",
  "the dentist",
  "chapter 4",
  "the garage",
  "the slides",
  "taxes",
  "a blog post",
];
const PRIORITIES = ["low", "medium", "medium", "high", "critical"];
const CATEGORIES = ["Work", "Personal", "Health", "Academic", "Creative", null];

/** Writes the account into the stopped server's D1 file in one transaction; answers the counts. */
function seedAccount(userId) {
  const started = performance.now();
  const random = prng(20261218);
  const db = new DatabaseSync(d1File());
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  db.exec("BEGIN");
  const task = db.prepare(
    `INSERT INTO tasks (id, user_id, title, description, status, priority, estimated_minutes, due_at, tags,
       category, category_source, completed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const step = db.prepare(
    `INSERT INTO micro_steps (id, task_id, user_id, position, description, short_label, estimated_minutes,
       leaf_type, status, completed_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let steps = 0;
  for (let i = 0; i < TASKS; i++) {
    // Spread over the past year, in creation order (ids sort like times, as the Worker's do).
    const created = now - 365 * DAY_MS + Math.floor((i / TASKS) * 365 * DAY_MS);
    const done = random() < 0.6;
    const verb = VERBS[Math.floor(random() * VERBS.length)];
    const thing = THINGS[Math.floor(random() * THINGS.length)];
    const id = uuidv7(created);
    const category = CATEGORIES[Math.floor(random() * CATEGORIES.length)];
    task.run(
      id,
      userId,
      `${verb} ${thing} #${i + 1}`,
      random() < 0.4
        ? `Notes for ${verb.toLowerCase()}ing ${thing}: keep it small, one step at a time.`
        : null,
      done ? "completed" : "pending",
      PRIORITIES[Math.floor(random() * PRIORITIES.length)],
      5 + Math.floor(random() * 12) * 5,
      random() < 0.3 ? iso(created + 3 * DAY_MS) : null,
      JSON.stringify(random() < 0.5 ? ["home"] : ["work", "deep"]),
      category,
      category ? "local" : null,
      done ? iso(created + DAY_MS) : null,
      iso(created),
      iso(done ? created + DAY_MS : created),
    );
    for (let s = 1; s <= STEPS_PER_TASK; s++) {
      const stepDone = done || random() < 0.2;
      step.run(
        uuidv7(created + s),
        id,
        userId,
        s,
        `Step ${s}: ${verb.toLowerCase()} part ${s} of ${thing}`,
        `${verb} ${s}`,
        2 + Math.floor(random() * 4),
        random() < 0.3 ? "DIGITAL" : "HUMAN",
        stepDone ? "completed" : "pending",
        stepDone ? iso(created + s * 60_000) : null,
        iso(created),
        iso(stepDone ? created + s * 60_000 : created),
      );
      steps += 1;
    }
  }
  db.exec("COMMIT");
  db.close();
  const seconds = (performance.now() - started) / 1000;
  log(`seeded ${TASKS} tasks and ${steps} steps in ${seconds.toFixed(1)} s`);
  return { tasks: TASKS, steps, seed_s: seconds };
}

/** A port nothing listens on (for the inspector: other servers on this machine may hold 9229). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The server's workerd processes: descendants of this process named workerd (others' are not ours). */
function workerdPids() {
  const parentOf = new Map();
  const names = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parentOf.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const ours = (pid) => {
    for (let p = parentOf.get(pid), hops = 0; p && hops < 10; p = parentOf.get(p), hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return [...names].filter(([pid, name]) => name === "workerd" && ours(pid)).map(([pid]) => pid);
}

/**
 * Memory of the pids, in bytes (summed): VmRSS and its high-water mark VmHWM, and VmRSS split into
 * RssAnon (heaps: V8, malloc — what a Worker's 128 MB limit is about) and RssFile (files mapped in:
 * locally, the D1 database and R2's blobs, which workerd reads through mmap and which grow with
 * every page read, whatever the Worker holds).
 */
function memoryOf(pids) {
  const total = { rss: 0, hwm: 0, anon: 0, file: 0 };
  const field = (status, name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      total.rss += field(status, "VmRSS");
      total.hwm += field(status, "VmHWM");
      total.anon += field(status, "RssAnon");
      total.file += field(status, "RssFile");
    } catch {
      // gone
    }
  }
  return total;
}

/** Samples memory every SAMPLE_MS and probes /health every HEALTH_PROBE_MS until stopped. */
function startWatching(base, pids, inspector) {
  const samples = [];
  const heaps = [];
  const health = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      samples.push({ at: performance.now(), ...memoryOf(pids) });
      await sleep(SAMPLE_MS);
    }
  })();
  const heapSampler = (async () => {
    while (running) {
      const heap = await inspector.heap();
      if (heap) heaps.push({ at: performance.now(), ...heap });
      await sleep(SAMPLE_MS);
    }
  })();
  const prober = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
        await res.text();
        health.push({ ms: performance.now() - t0, status: res.status });
      } catch {
        health.push({ ms: performance.now() - t0, status: 0 });
      }
      await sleep(HEALTH_PROBE_MS);
    }
  })();
  return async () => {
    running = false;
    await Promise.all([sampler, prober, heapSampler]);
    return { samples, heaps, health };
  };
}

/**
 * The Worker's own isolate, through the DevTools protocol that `wrangler dev` serves on the inspector
 * port: `Runtime.getHeapUsage` is the V8 heap of the isolate that runs the queue consumer (and the
 * routes and Durable Objects), apart from workerd's local D1 and R2, whose JS and SQLite run in the
 * same process.
 */
async function connectInspector(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("wrangler dev serves no inspector target");
  // The proxy wants an Origin it knows (DevTools'); localhost is one.
  const ws = new WebSocket(url, { headers: { Origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("could not open the inspector socket")), {
      once: true,
    });
  });
  let nextId = 0;
  const pending = new Map();
  ws.addEventListener("message", (m) => {
    const data = JSON.parse(String(m.data));
    const resolve = pending.get(data.id);
    if (resolve) {
      pending.delete(data.id);
      resolve(data.result);
    }
  });
  const send = (method) =>
    new Promise((resolve) => {
      nextId += 1;
      pending.set(nextId, resolve);
      ws.send(JSON.stringify({ id: nextId, method }));
    });
  return {
    /**
     * Bytes the isolate holds: `used` is its V8 heap in use plus the ArrayBuffers' backing stores
     * outside it (the 5 MiB part, encoded rows); `total`, the heap V8 reserved.
     */
    heap: async () => {
      const r = await Promise.race([send("Runtime.getHeapUsage"), sleep(5000).then(() => null)]);
      return r ? { used: r.usedSize + (r.backingStorageSize ?? 0), total: r.totalSize } : null;
    },
    close: () => ws.close(),
  };
}

const percentile = (values, p) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

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
  const seeded = seedAccount(source.user.id);

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
