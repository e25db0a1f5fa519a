// What the live-socket benchmarks share (bench/focus-ws.mjs, bench/rooms.mjs): latency statistics,
// a timed HTTP call, and the GET /health baseline timed the same way in the same run.
import { fixed, mapConcurrent, serverCpuSeconds, sleep, table } from "./lib.mjs";

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1) ?? null,
    mean_ms: mean,
  };
}

/** One request, timed from sending to the end of the body; `started` is when it was sent. */
export async function call(base, method, path, token, body) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started, started };
}

/**
 * GET /health timed like the measured calls, with the server's CPU per request; a short unmeasured
 * warm-up first, so the baseline is not a cold one.
 */
export async function healthPass(base, requests, concurrency) {
  await mapConcurrent(Array.from({ length: Math.min(requests, 100) }), concurrency, () =>
    call(base, "GET", "/health"),
  );
  return withServerCpu(requests, async () => {
    const samples = [];
    const codes = {};
    await mapConcurrent(Array.from({ length: requests }), concurrency, async () => {
      const answer = await call(base, "GET", "/health");
      codes[answer.status] = (codes[answer.status] ?? 0) + 1;
      samples.push(answer.ms);
    });
    return { ...stats(samples), codes };
  });
}

/** How long the server is left alone before and after a measured pass, so that work a pass left running
 * after its last answer (deliveries, D1 writes, queued events) is counted with that pass and no other. */
const SETTLE_MS = 1500;

/**
 * Runs a pass of `count` operations and adds the server's CPU time per operation (all of workerd and
 * wrangler, so an upper bound of the Worker's own): a figure that swings far less from run to run
 * than latency on a shared machine, and that says what each operation costs once the machine is busy.
 */
export async function withServerCpu(count, work) {
  await sleep(SETTLE_MS);
  const before = serverCpuSeconds();
  const result = await work();
  await sleep(SETTLE_MS);
  const after = serverCpuSeconds();
  const cpu_ms_per_op = before === null || after === null ? null : ((after - before) * 1000) / count;
  return { ...result, cpu_ms_per_op };
}

/** Counts answers by status. */
export function countCode(codes, status) {
  codes[status] = (codes[status] ?? 0) + 1;
}

/**
 * Prints one pass: /health, the request and the socket delivery (p50/p99/max), then their p99 ratios
 * to /health, the answers' codes and the sockets left without their message. `labels` names the rows.
 */
export function printPass(title, pass, health, labels) {
  console.log(`\n${title}`);
  const row = (name, s) => [name, s.count, fixed(s.p50_ms, 1), fixed(s.p99_ms, 1), fixed(s.max_ms, 1)];
  console.log(
    table(
      ["measure", "samples", "p50 ms", "p99 ms", "max ms"],
      [row(labels.health, health), row(labels.http, pass.http), row(labels.delivery, pass.deliveries)],
    ),
  );
  console.log(
    `p99 ratio to GET /health: HTTP ${fixed(pass.http.p99_ms / health.p99_ms, 2)}, ` +
      `delivery ${fixed(pass.deliveries.p99_ms / health.p99_ms, 2)}; ` +
      `codes ${JSON.stringify(pass.codes)}; sockets without their message: ${pass.missed}`,
  );
  if (pass.cpu_ms_per_op != null && health.cpu_ms_per_op != null) {
    console.log(
      `server CPU per operation: GET /health ${fixed(health.cpu_ms_per_op, 2)} ms, ` +
        `this request with its deliveries ${fixed(pass.cpu_ms_per_op, 2)} ms ` +
        `(${fixed(pass.cpu_ms_per_op / health.cpu_ms_per_op, 2)}×)`,
    );
  }
}
