// What the live-socket benchmarks share (bench/focus-ws.mjs, bench/rooms.mjs, bench/load.mjs): latency
// statistics, a timed HTTP call, a focus socket, and the GET /health baseline timed the same way in the
// same run.
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
    p95_ms: percentile(sorted, 95),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1) ?? null,
    mean_ms: mean,
  };
}

/**
 * One focus WebSocket (`url`: ws://…/api/v1/focus/ws, with `?ticket=` or not; `protocols`: the
 * subprotocols offered, e.g. `["pap.focus.v1", "bearer.<token>"]`). `hello` settles with the hello
 * message (rejects if the socket fails or closes first); `expect(event)` returns a promise of the arrival
 * time (performance.now()) of the next `state` message with that event, or null after `timeoutMs` or when
 * the socket closes. The socket counts as dropped if it closes before `close()`; `gaps` counts state
 * messages whose `seq` is not the one after the last.
 */
export class FocusSocket {
  constructor(url, protocols, name, { timeoutMs = 10_000 } = {}) {
    this.name = name;
    this.timeoutMs = timeoutMs;
    this.dropped = false;
    this.closing = false;
    this.gaps = 0;
    this.seq = null;
    this.waiting = [];
    this.ws = new WebSocket(url, protocols);
    this.hello = new Promise((resolve, reject) => {
      this.ws.addEventListener("error", () => reject(new Error(`socket ${name} failed to open`)), {
        once: true,
      });
      this.ws.addEventListener("close", () => reject(new Error(`socket ${name} closed before its hello`)), {
        once: true,
      });
      this.ws.addEventListener("message", (event) => {
        const at = performance.now();
        const message = JSON.parse(String(event.data));
        if (message.type === "hello") {
          this.seq = message.seq;
          resolve(message);
        }
        if (message.type !== "state") return;
        if (this.seq !== null && message.seq !== this.seq + 1) this.gaps++;
        this.seq = message.seq;
        const index = this.waiting.findIndex((w) => w.event === message.event);
        if (index >= 0) this.waiting.splice(index, 1)[0].resolve(at);
      });
    });
    // A socket that never opens must not leave an unhandled rejection behind.
    this.hello.catch(() => {});
    this.ws.addEventListener("close", () => {
      if (!this.closing) this.dropped = true;
      for (const w of this.waiting.splice(0)) w.resolve(null);
    });
  }

  expect(event) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(null);
      }, this.timeoutMs);
      const waiter = {
        event,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiting.push(waiter);
    });
  }

  close() {
    this.closing = true;
    this.ws.close(1000, "bench done");
  }
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
 * warm-up first, so the baseline is not a cold one. `keep`: an array that gets every sample too (to pool passes).
 */
export async function healthPass(base, requests, concurrency, keep = null) {
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
    keep?.push(...samples);
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
