// The account benches' shared part (bench/export.mjs, bench/restore.mjs): the seeded account of
// N tasks with M steps each, written straight into the local D1 file, and the watchers of the Worker's
// memory (RSS of workerd, heap over the inspector) and of /health while a job runs.
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { d1File, log, prng, sleep, uuidv7 } from "./lib.mjs";

const SAMPLE_MS = 100;
const HEALTH_PROBE_MS = 250;
const DAY_MS = 86_400_000;
const _MB = 1024 * 1024;

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
export function seedAccount(userId, { tasks: TASKS, stepsPerTask: STEPS_PER_TASK }) {
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
export function freePort() {
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
export function workerdPids() {
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
export function memoryOf(pids) {
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
export function startWatching(base, pids, inspector) {
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
export async function connectInspector(port) {
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

export const percentile = (values, p) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
