// Shared helpers of the benchmarks (`npm run bench`, `npm run bench:delegation`): a throwaway
// `wrangler dev --local` on a fresh state directory (STATE_DIR), setup requests, autocannon passes and tables.
// See bench/README.md.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/**
 * Where a run's wrangler dev keeps its local D1, Durable Objects, queues and R2: BENCH_STATE_DIR when
 * set; otherwise in memory (a directory of /dev/shm, one per checkout) where the machine has one with
 * room to spare; else .bench-state/. In memory, because on this machine's disk the local storage
 * measures the disk rather than the Worker: each Durable Object is a SQLite file of its own, and waking
 * one creates its WAL and shared-memory files again — in a pass of cold objects `perf` found about a
 * fifth of workerd's time in ext4's `openat` (the inode allocator skipping recently deleted inodes),
 * plus fsyncs. Production storage is no file on this disk. BENCH_STATE_DIR=.bench-state measures on
 * the disk.
 */
const SHM = "/dev/shm";
/** The most a bench's state takes (bench:leaderboard's 100,000 users, bench:rooms' 1,050 objects) and then some. */
const SHM_NEEDED_BYTES = 2 * 1024 ** 3;
const SHM_STATE_DIR = join(
  SHM,
  `pap-bench-state-${createHash("sha256").update(ROOT).digest("hex").slice(0, 8)}`,
);
/** Written into every state directory a bench makes: only such a directory (or an empty one) is ever deleted. */
const STATE_MARKER = ".pap-bench-state";

/** Bytes under `path` (files only): what deleting it gives back. */
function sizeOf(path) {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

/** Whether /dev/shm has room, counting this checkout's last state there as free (the run deletes it). */
function shmHasRoom() {
  try {
    const fs = statfsSync(SHM);
    return fs.bavail * fs.bsize + sizeOf(SHM_STATE_DIR) >= SHM_NEEDED_BYTES;
  } catch {
    return false;
  }
}

function stateDir() {
  if (process.env.BENCH_STATE_DIR) return resolvePath(ROOT, process.env.BENCH_STATE_DIR);
  if (shmHasRoom()) return SHM_STATE_DIR;
  return join(ROOT, ".bench-state");
}
export const STATE_DIR = stateDir();

/**
 * Refuses to delete a directory a bench did not make: "/", the home directory, the checkout or one of
 * its parents, or a directory that holds something without the bench's marker (BENCH_STATE_DIR=. would
 * otherwise take the checkout with it).
 */
function checkDeletable(dir) {
  const home = process.env.HOME ? resolvePath(process.env.HOME) : undefined;
  const root = resolvePath(ROOT);
  if (dir === "/" || dir === home || root === dir || root.startsWith(`${dir}/`)) {
    throw new Error(`refusing to use ${dir} as the bench's state directory: it would be deleted`);
  }
  if (!existsSync(dir) || readdirSync(dir).length === 0) return;
  // The default places are the bench's own, marked or not (runs before the marker left them unmarked).
  const ours = dir === join(root, ".bench-state") || dir === SHM_STATE_DIR;
  if (!ours && !existsSync(join(dir, STATE_MARKER))) {
    throw new Error(
      `refusing to delete ${dir}: it is not empty and no bench made it (no ${STATE_MARKER}); choose another BENCH_STATE_DIR`,
    );
  }
}
export const RESULTS_DIR = join(ROOT, "bench", "results");
const DEV_VARS = join(ROOT, ".dev.vars");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const WRANGLER_LOG = join(STATE_DIR, "wrangler-dev.log");
// wrangler.toml with the rate limits raised: a benchmark is one user hammering a route, so the real
// limits would answer 429; the limiter still runs on every request, so its cost is measured.
const BENCH_CONFIG = join(ROOT, ".wrangler.bench.toml");

// The request log's line per answer is on too, but only for errors (BENCH_REQUEST_LOGS=all for every
// line): under wrangler dev each line goes through wrangler's own Node process on the same two cores,
// about 4 ms of CPU per request here, which production's Workers Logs collects outside the isolate.
const BENCH_REQUEST_LOGS = process.env.BENCH_REQUEST_LOGS || "errors";
const REQUEST_LOGS_LINE = /^REQUEST_LOGS = "[a-z]+"$/m;

function writeBenchConfig() {
  if (!["all", "errors", "off"].includes(BENCH_REQUEST_LOGS)) {
    throw new Error(
      `BENCH_REQUEST_LOGS must be all, errors or off, not ${JSON.stringify(BENCH_REQUEST_LOGS)}`,
    );
  }
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  if (!REQUEST_LOGS_LINE.test(toml)) throw new Error('wrangler.toml has no `REQUEST_LOGS = "…"` line to set');
  const config = toml
    .replace(/simple = \{ limit = \d+, period = (\d+) \}/g, "simple = { limit = 1000000, period = $1 }")
    .replace(REQUEST_LOGS_LINE, `REQUEST_LOGS = "${BENCH_REQUEST_LOGS}"`);
  writeFileSync(BENCH_CONFIG, config);
}
const HEALTH_TIMEOUT_MS = 90_000;
/** The Worker's inspector (BENCH_PROFILE=1 only): profile.mjs takes CPU profiles through it. */
export const INSPECTOR_PORT = 9239;
const inspectorArgs = process.env.BENCH_PROFILE === "1" ? ["--inspector-port", String(INSPECTOR_PORT)] : [];

// wrangler dev streams a trace of every invocation (each request, object call, alarm, queue delivery) to
// a trace store of its own in the same workerd, for its local explorer: dev tooling that production's
// Workers observability does outside the isolate. On a focus start (five invocations to /health's one)
// it was a third of the server's CPU. Off unless X_LOCAL_OBSERVABILITY says otherwise.
const childEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY || "false",
};

/** @type {import("node:child_process").ChildProcess | undefined} */
let server;

export function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** A number ≥ 0 from the environment (thresholds, fractions), or `fallback` when unset. */
export function nonNegativeNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, got "${raw}"`);
  return value;
}

export function log(message) {
  console.log(`[bench] ${message}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds since `since` (a performance.now() reading), one decimal, for progress lines. */
export const seconds = (since) => ((performance.now() - since) / 1000).toFixed(1);

/** A seeded PRNG (mulberry32): the same data on every run. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUIDv7 for time `ms`, like the Worker's newId: ids sort like the times they were made at. */
export function uuidv7(ms) {
  const hex = ms.toString(16).padStart(12, "0");
  const rand = randomBytes(10).toString("hex");
  const variant = ((Number.parseInt(rand.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-${variant}${rand.slice(4, 7)}-${rand.slice(7, 19)}`;
}

/** Node >= 22.12 (for wrangler) and an installed wrangler; `script` is the npm command to suggest. */
export function checkEnvironment(script) {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(
      `wrangler needs Node >= 22.12 but this is Node ${process.versions.node}; run \`${script}\` ` +
        "(the project's node@22 devDependency comes first on PATH there).",
    );
  }
  if (!existsSync(WRANGLER)) throw new Error(`wrangler not found at ${WRANGLER}; run npm install`);
}

function ensureDevVars() {
  if (existsSync(DEV_VARS) && /^\s*JWT_SECRET\s*=\s*\S/m.test(readFileSync(DEV_VARS, "utf8"))) return;
  if (existsSync(DEV_VARS)) {
    throw new Error(".dev.vars exists but has no JWT_SECRET; add `JWT_SECRET=<random secret>` to it.");
  }
  writeFileSync(DEV_VARS, `JWT_SECRET=${randomBytes(48).toString("base64url")}\n`);
  log("created .dev.vars with a random JWT_SECRET");
}

/**
 * A migrated state directory kept for the next run (applying the migrations one by one through wrangler takes
 * 15–60 s here), under a key of everything the result depends on: the migrations, the bench config (the
 * D1 binding and database id) and wrangler's version. Only the latest key is kept.
 */
const MIGRATED_CACHE = join(ROOT, ".wrangler", "bench-migrated");

function migratedKey() {
  const hash = createHash("sha256");
  hash.update(readFileSync(BENCH_CONFIG));
  hash.update(readFileSync(join(ROOT, "node_modules", "wrangler", "package.json")));
  const migrations = join(ROOT, "migrations");
  for (const file of readdirSync(migrations)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    hash.update(`\0${file}\0`);
    hash.update(readFileSync(join(migrations, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

function applyMigrations() {
  writeBenchConfig();
  const cached = join(MIGRATED_CACHE, migratedKey());
  if (existsSync(cached)) {
    cpSync(cached, STATE_DIR, { recursive: true });
    log("D1 migrations: copied the state migrated by an earlier run (.wrangler/bench-migrated/)");
    return;
  }
  log(`applying D1 migrations to ${STATE_DIR}`);
  const result = spawnSync(
    process.execPath,
    [
      WRANGLER,
      "d1",
      "migrations",
      "apply",
      "DB",
      "--local",
      "--persist-to",
      STATE_DIR,
      "--config",
      BENCH_CONFIG,
    ],
    { cwd: ROOT, env: { ...childEnv, CI: "true" }, encoding: "utf8" },
  );
  if (result.error) throw new Error(`could not run wrangler: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `wrangler d1 migrations apply failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  // Copied aside, then renamed: a run stopped mid-copy leaves no half state to be taken for a whole one.
  rmSync(MIGRATED_CACHE, { recursive: true, force: true });
  cpSync(STATE_DIR, `${cached}.partial`, { recursive: true });
  renameSync(`${cached}.partial`, cached);
}

/** Deletes and recreates the state directory (empty but for the bench's marker). */
export function freshStateDir() {
  checkDeletable(STATE_DIR);
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(join(STATE_DIR, STATE_MARKER), "state of a bench run (bench/lib.mjs); deleted by the next\n");
  log(`state directory: ${STATE_DIR}`);
}

/** A fresh state directory, .dev.vars with a JWT_SECRET, and migrations/ applied. */
export function prepareState() {
  freshStateDir();
  ensureDevVars();
  applyMigrations();
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

function spawnServer(port, vars, args, { config = BENCH_CONFIG, stateDir = STATE_DIR } = {}) {
  const traces = childEnv.X_LOCAL_OBSERVABILITY.toLowerCase() === "false" ? "off" : "on";
  log(`starting wrangler dev on 127.0.0.1:${port} (log: ${WRANGLER_LOG}; local traces ${traces})`);
  const out = createWriteStream(WRANGLER_LOG);
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    process.execPath,
    // --local: remote bindings (Workers AI) off, so no Cloudflare login or network is needed.
    [
      WRANGLER,
      "dev",
      "--local",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      stateDir,
      "--config",
      config,
      ...varArgs,
      ...inspectorArgs,
      ...args,
    ],
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

/**
 * CPU seconds (user + system) spent so far by wrangler dev and everything it started (its process
 * group: the wrangler Node process and workerd, which runs the Worker, its queues, D1 and R2), from
 * /proc; null where there is no /proc. An upper bound of the Worker's own CPU between two readings.
 */
export function serverCpuSeconds() {
  if (!server?.pid || !existsSync("/proc")) return null;
  const ticksPerSecond = 100;
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // The command may hold spaces and parentheses: the fields start after its last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== server.pid) continue; // field 5, the process group
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
  }
  return ticks / ticksPerSecond;
}

/** Stops wrangler dev and everything it started (workerd): SIGTERM to the group, SIGKILL after 5 s. */
export async function stopServer() {
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

/**
 * Starts `wrangler dev` on the bench state on a free port (in its own process group) and waits for
 * /health; returns its base URL. `vars` override wrangler.toml [vars] (e.g. ADMIN_EMAILS); `args` are
 * extra `wrangler dev` flags (e.g. `--test-scheduled`); `worker` runs another Worker the same way
 * (`config`: its wrangler.toml, `stateDir`: where its local bindings live), as bench:all does with
 * its bare Hono yardstick.
 */
export async function startServer(vars = {}, { args = [], worker } = {}) {
  const port = await choosePort();
  const base = `http://127.0.0.1:${port}`;
  server = spawnServer(port, vars, args, worker);
  await waitForHealth(base);
  log(`wrangler dev is up at ${base}`);
  return base;
}

/** The local D1 database file under the state directory (there is one D1 binding); it exists once migrations ran. */
export function d1File() {
  const dir = join(STATE_DIR, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(".sqlite")) : undefined;
  if (!file) throw new Error(`no D1 database file in ${dir}; did the migrations run?`);
  return join(dir, file);
}

/** A setup request that must answer `expected`; returns the parsed JSON body, or throws with the body. */
export async function request(base, method, path, { token, body, expected }) {
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

/** Registers a throwaway user and returns its access token; `quiet` skips the log line (for many users). */
export async function registerUser(base, { quiet = false } = {}) {
  const email = `bench-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
  const auth = await request(base, "POST", "/api/v1/auth/register", {
    body: { email, password: randomBytes(18).toString("base64url"), display_name: "Bench" },
    expected: 201,
  });
  const token = auth?.access_token;
  if (typeof token !== "string" || !auth?.user?.id) {
    throw new Error(`register answered 201 without user.id/access_token:\n${JSON.stringify(auth)}`);
  }
  if (!quiet) log(`registered ${email} (user ${auth.user.id})`);
  return token;
}

/** Runs `fn(item, index)` over `items`, at most `concurrency` at a time; results in input order. */
export async function mapConcurrent(items, concurrency, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * One autocannon run of `route` ({ name, method, path, headers?, body? }). `route.options(connections)`,
 * when present, adds autocannon options for this run (e.g. `requests` with a `setupRequest` hook and
 * `maxOverallRequests`); with `route.perSecond` the row also gets the responses of each second.
 */
export async function cannon(base, route, connections, duration) {
  const instance = autocannon({
    url: `${base}${route.path}`,
    method: route.method,
    headers: route.headers ?? {},
    body: route.body,
    connections,
    duration,
    ...(route.options ? route.options(connections) : {}),
  });
  /** @type {{ count: number, latency_ms: number, non2xx: number }[]} */
  const seconds = [];
  const started = Date.now();
  let lastResponse = started;
  if (route.perSecond) {
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      lastResponse = Date.now();
      const second = Math.floor((lastResponse - started) / 1000);
      for (let s = seconds.length; s <= second; s++) seconds.push({ count: 0, latency_ms: 0, non2xx: 0 });
      const bucket = seconds[second];
      bucket.count++;
      bucket.latency_ms += responseTime;
      if (statusCode < 200 || statusCode > 299) bucket.non2xx++;
    });
  }
  const result = await instance;
  const row = {
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
  if (route.perSecond) {
    // From the start to the last response (autocannon's own duration is rounded up to its 1 s ticks).
    row.elapsed_s = (lastResponse - started) / 1000;
    row.per_second = seconds.map((s) => ({
      responses: s.count,
      mean_latency_ms: s.count > 0 ? Math.round((s.latency_ms / s.count) * 10) / 10 : null,
      non2xx: s.non2xx,
    }));
  }
  return row;
}

/**
 * Runs each route of `list` in turn (`warmupSeconds` of warm-up first, unless 0 or the route says
 * `warmup: false`), then adds ratio_to_health / ratio_to_live from the GET /health(/live) rows.
 * `measure(route, work)` wraps each measured run (profile.mjs's `profileEachRoute` profiles it).
 */
export async function runPass(
  base,
  list,
  connections,
  duration,
  warmupSeconds,
  { measure = (_route, work) => work() } = {},
) {
  const rows = [];
  for (const route of list) {
    let warmupNon2xx = 0;
    if (warmupSeconds > 0 && route.warmup !== false) {
      log(`warm-up ${route.name} (${warmupSeconds} s, ${connections} connections)`);
      warmupNon2xx = (await cannon(base, route, connections, warmupSeconds)).non2xx;
    }
    log(`measuring ${route.name} (${duration} s, ${connections} connection${connections === 1 ? "" : "s"})`);
    const row = await measure(route, () => cannon(base, route, connections, duration));
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

export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export const fixed = (n, digits) => (n === null || n === undefined ? "-" : n.toFixed(digits));

export function printLoadTable(rows) {
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

export function printSoloTable(rows) {
  console.log(
    table(
      ["route", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "timeouts"],
      rows.map((r) => [r.route, fixed(r.rps, 1), r.p50_ms, r.p99_ms, r.non2xx, r.errors, r.timeouts]),
    ),
  );
}

/** A pass's rows with their ratio to /health and whether each p99 meets `targetMs`, under `title`. */
export function printTargetTable(title, rows, targetMs) {
  if (title) console.log(`\n${title}`);
  console.log(
    table(
      [
        "route",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "non-2xx",
        "errors",
        "timeouts",
        "ratio /health",
        `p99 < ${targetMs} ms`,
      ],
      rows.map((r) => [
        r.route,
        fixed(r.rps, 1),
        r.p50_ms,
        r.p99_ms,
        r.max_ms,
        r.non2xx,
        r.errors,
        r.timeouts,
        fixed(r.ratio_to_health, 2),
        r.p99_ms < targetMs ? "PASS" : "FAIL",
      ]),
    ),
  );
}

/** Prints WARN lines for errors/timeouts and ERROR lines for non-2xx; returns the rows with non-2xx. */
export function reportProblems(rows) {
  const bad = rows.filter((r) => r.non2xx + r.warmup_non2xx > 0);
  const errored = rows.filter((r) => r.errors + r.timeouts > 0);
  for (const r of errored) {
    console.log(`WARN  ${r.route} (${r.connections} conn): ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  for (const r of bad) {
    console.log(
      `ERROR ${r.route} (${r.connections} conn): ${r.non2xx} non-2xx responses ` +
        `(+${r.warmup_non2xx} in warm-up), measured status codes ${JSON.stringify(r.status_codes)}`,
    );
  }
  return bad;
}

/** Writes `report` as JSON to bench/results/<fileName>. */
export function writeResults(fileName, report) {
  const file = join(RESULTS_DIR, fileName);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`results written to ${file.slice(ROOT.length)}`);
}

/**
 * Runs `main` (which returns the exit code) and exits: the server is stopped on the way out, on
 * SIGINT/SIGTERM too; a thrown error is printed and exits 1.
 */
export async function runMain(main) {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      log(`${signal}: stopping wrangler dev`);
      const code = signal === "SIGINT" ? 130 : 143;
      stopServer().finally(() => {
        finishState(code);
        process.exit(code);
      });
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
  finishState(code);
  process.exit(code);
}

/**
 * Memory is not kept for a run that went well; the state of a failed or interrupted run (its wrangler
 * log) stays to read, and so does any with BENCH_KEEP_STATE=1 — each says where. A directory the bench
 * did not make (it refused it) is not mentioned.
 */
function finishState(code) {
  if (!existsSync(join(STATE_DIR, STATE_MARKER))) return;
  if (code === 0 && STATE_DIR === SHM_STATE_DIR && process.env.BENCH_KEEP_STATE !== "1") {
    rmSync(STATE_DIR, { recursive: true, force: true });
  } else if (code !== 0 || process.env.BENCH_KEEP_STATE === "1") {
    log(`state kept for reading: ${STATE_DIR}`);
  }
}
