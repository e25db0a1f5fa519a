// `npm run bench:focus`: how fast a focus session's start reaches every device of its user.
// Opens BENCH_USERS × 2 WebSockets (default 500 users: 1,000 sockets) to a throwaway `wrangler dev`,
// starts a session for every user over HTTP, and times, per socket, from sending the start request to
// receiving its `started` message. A load pass starts BENCH_CONNECTIONS users at a time (default 50);
// a latency pass starts BENCH_SOLO users one at a time. GET /health is timed the same way in the same run.
// See bench/README.md.
//
// Exit: 0 when every socket got every message (the p99 target is informational), 1 on setup failure,
// a non-2xx answer, or any socket dropped or left without its message.
import {
  checkEnvironment,
  fixed,
  log,
  mapConcurrent,
  positiveInt,
  prepareState,
  registerUser,
  runMain,
  seconds,
  startServer,
  stopServer,
  writeResults,
} from "./lib.mjs";
import { call, FocusSocket, healthPass, printPass, stats } from "./live.mjs";

const USERS = positiveInt("BENCH_USERS", 500);
const DEVICES = 2;
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const SOLO = positiveInt("BENCH_SOLO", 100);
const SETUP_CONCURRENCY = 10;
const MESSAGE_TIMEOUT_MS = 10_000;
const TARGET_P99_MS = 100;
const START = { kind: "custom", duration_minutes: 25 };

/** Starts a session for each user (`concurrency` at a time); per socket, start sent → `started` received. */
async function startPass(base, users, concurrency) {
  const deliveries = [];
  const http = [];
  const codes = {};
  let missed = 0;
  const began = performance.now();
  await mapConcurrent(users, concurrency, async (user) => {
    const arrivals = user.devices.map((d) => d.expect("started"));
    const answer = await call(base, "POST", "/api/v1/focus/enhanced/start", user.token, START);
    codes[answer.status] = (codes[answer.status] ?? 0) + 1;
    http.push(answer.ms);
    for (const at of await Promise.all(arrivals)) {
      if (at === null) missed++;
      else deliveries.push(at - answer.started);
    }
  });
  return {
    deliveries: stats(deliveries),
    http: stats(http),
    codes,
    missed,
    elapsed_s: (performance.now() - began) / 1000,
  };
}

async function abandonAll(base, users) {
  await mapConcurrent(users, CONNECTIONS, async (user) => {
    const arrivals = user.devices.map((d) => d.expect("abandoned"));
    const answer = await call(base, "POST", "/api/v1/focus/enhanced/abandon", user.token, {});
    if (answer.status !== 200) throw new Error(`abandon answered ${answer.status}`);
    await Promise.all(arrivals);
  });
}

const LABELS = {
  health: "GET /health (HTTP round trip)",
  http: "POST …/focus/enhanced/start (HTTP round trip)",
  delivery: "start sent → `started` on each socket",
};

async function main() {
  checkEnvironment("npm run bench:focus");
  log(
    `config: ${USERS} users × ${DEVICES} devices, ${CONNECTIONS} starts at a time, then ${SOLO} one at a time`,
  );
  prepareState();
  const base = await startServer();

  let t = performance.now();
  const tokens = await mapConcurrent(Array.from({ length: USERS }), SETUP_CONCURRENCY, () =>
    registerUser(base, { quiet: true }),
  );
  log(`registered ${USERS} users in ${seconds(t)} s`);

  t = performance.now();
  const users = tokens.map((token) => ({ token, devices: [] }));
  await mapConcurrent(users, CONNECTIONS, async (user, i) => {
    const url = `${base.replace(/^http/, "ws")}/api/v1/focus/ws`;
    const protocols = ["pap.focus.v1", `bearer.${user.token}`];
    user.devices = Array.from(
      { length: DEVICES },
      (_, d) => new FocusSocket(url, protocols, `u${i}-d${d}`, { timeoutMs: MESSAGE_TIMEOUT_MS }),
    );
    await Promise.all(user.devices.map((d) => d.hello));
  });
  const sockets = users.flatMap((u) => u.devices);
  log(`opened ${sockets.length} sockets (each got its hello) in ${seconds(t)} s`);

  log(`baseline: ${USERS} GET /health, ${CONNECTIONS} at a time`);
  const loadHealth = await healthPass(base, USERS, CONNECTIONS);
  log(`load pass: starting a session for each of ${USERS} users, ${CONNECTIONS} at a time`);
  const load = await startPass(base, users, CONNECTIONS);
  await abandonAll(base, users);

  const soloUsers = users.slice(0, SOLO);
  log(`baseline: ${SOLO} GET /health, one at a time`);
  const soloHealth = await healthPass(base, SOLO, 1);
  log(`latency pass: starting a session for ${SOLO} users, one at a time`);
  const solo = await startPass(base, soloUsers, 1);

  const dropped = sockets.filter((d) => d.dropped).length;
  for (const device of sockets) device.close();
  await stopServer();

  console.log(`\nSetup: ${USERS} users, ${sockets.length} WebSockets open through both passes`);
  printPass(
    `Load pass: ${USERS} starts, ${CONNECTIONS} at a time (${fixed(load.elapsed_s, 1)} s)`,
    load,
    loadHealth,
    LABELS,
  );
  printPass(`Latency pass: ${SOLO} starts, one at a time`, solo, soloHealth, LABELS);
  console.log(`\nDropped sockets: ${dropped} of ${sockets.length}`);
  const targets = [
    ["load", load],
    ["latency", solo],
  ].map(([pass, result]) => ({
    target: `socket delivery p99 < ${TARGET_P99_MS} ms (${pass} pass)`,
    value: result.deliveries.p99_ms,
    pass: result.deliveries.p99_ms !== null && result.deliveries.p99_ms < TARGET_P99_MS,
  }));
  console.log("\nTargets (informational):");
  for (const tgt of targets)
    console.log(`${tgt.pass ? "PASS" : "FAIL"}  ${tgt.target}: ${fixed(tgt.value, 1)} ms`);

  const non2xx = [load, solo].reduce(
    (n, p) => n + Object.entries(p.codes).reduce((m, [code, c]) => m + (code === "201" ? 0 : c), 0),
    0,
  );
  const missed = load.missed + solo.missed;
  const ok = dropped === 0 && missed === 0 && non2xx === 0;
  if (!ok)
    console.log(`ERROR ${dropped} dropped sockets, ${missed} missed messages, ${non2xx} non-201 starts`);
  writeResults("focus-ws.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: { users: USERS, devices: DEVICES, connections: CONNECTIONS, solo: SOLO },
    load: { ...load, health: loadHealth },
    solo: { ...solo, health: soloHealth },
    dropped,
    targets,
    ok,
  });
  return ok ? 0 : 1;
}

await runMain(main);
