// CPU profiles of the Worker under a bench's load, through wrangler dev's inspector (V8's Profiler
// domain over the DevTools protocol). BENCH_PROFILE=1 makes lib.mjs start wrangler with an inspector
// port; a bench wraps a pass in `profiled(name, work)`, which writes bench/results/<name>.cpuprofile
// (open it in Chrome DevTools → Performance, or speedscope) and prints the functions that took the
// most CPU by self time and by total time, grouped by source file.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { INSPECTOR_PORT, log, RESULTS_DIR } from "./lib.mjs";

export const PROFILING = process.env.BENCH_PROFILE === "1";
const SAMPLING_INTERVAL_US = 200;
const TOP = 25;

/** One DevTools-protocol session on the Worker's inspector target. */
async function openSession() {
  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl);
  if (!target) throw new Error("no inspector target for the Worker");
  // wrangler's inspector proxy refuses a socket without an Origin it knows.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: "http://127.0.0.1" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("inspector socket failed")), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    const waiter = message.id !== undefined && pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Self and total sample time per function (name + file:line), from a V8 CPU profile. */
export function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const samples = new Map();
  for (const id of profile.samples) samples.set(id, (samples.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const keyOf = (node) => {
    const f = node.callFrame;
    const file = f.url ? f.url.split("/").slice(-2).join("/") : "(native)";
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map();
  const inclusive = new Map();
  for (const [id, count] of samples) {
    const key = keyOf(byId.get(id));
    self.set(key, (self.get(key) ?? 0) + count);
    // Each function counted once per sample, however deep it recurses.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf(byId.get(at));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + count);
    }
  }
  const idle = [...self.entries()].filter(([k]) => k.startsWith("(idle)")).reduce((n, [, c]) => n + c, 0);
  const rank = (map) =>
    [...map.entries()]
      .filter(([k]) => !k.startsWith("(idle)") && !k.startsWith("(root)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([fn, count]) => ({ fn, percent: (100 * count) / total }));
  return { samples: total, idle_percent: (100 * idle) / total, self: rank(self), total: rank(inclusive) };
}

function printSummary(name, summary) {
  console.log(
    `\nCPU profile "${name}": ${summary.samples} samples, idle ${summary.idle_percent.toFixed(1)}%`,
  );
  console.log("  by self time:");
  for (const row of summary.self) console.log(`  ${row.percent.toFixed(1).padStart(5)}%  ${row.fn}`);
  console.log("  by total time (the function and what it called):");
  for (const row of summary.total) console.log(`  ${row.percent.toFixed(1).padStart(5)}%  ${row.fn}`);
}

/** Runs `work`, profiling the Worker's isolate meanwhile when BENCH_PROFILE=1. */
export async function profiled(name, work) {
  if (!PROFILING) return work();
  const session = await openSession();
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
  await session.send("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.send("Profiler.stop");
    session.close();
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    log(`CPU profile written to ${file}`);
    printSummary(name, summarize(profile));
  }
}

/** For runPass: one profile per route, named `<prefix>-<route>` ("tasks-post-api-v1-tasks"). */
export function profileEachRoute(prefix) {
  const slug = (name) =>
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "");
  return (route, work) => profiled(`${prefix}-${slug(route.name)}`, work);
}
