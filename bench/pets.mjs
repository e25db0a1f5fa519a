// `npm run bench:pets`: BENCH_PET_USERS users (default 1,000), each with a pet, reading its level
// status and feeding it, over HTTP on a throwaway `wrangler dev`. Setup is the real path: every user
// registers, adopts a pet and finishes a one-step task, so the events queue feeds each pet its treats.
// Each user then feeds once (a user's first feed in 15 minutes also sends `pet.fed`, which the events
// consumer handles on the same CPU), and the queue is given time to drain. Then GET /health,
// GET /api/v1/pets/level/me/status and POST /api/v1/pets/me/feed (1 XP a feed), each request as the next
// user in turn: a 50-connection pass and, after another drain, a 1-connection pass. See bench/README.md.
//
// Env: BENCH_PORT, BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_PET_USERS.
// Exit: 0 when the run completed (the p99 target is informational), 1 on setup failure or any non-2xx.
import {
  checkEnvironment,
  log,
  mapConcurrent,
  positiveInt,
  prepareState,
  printTargetTable,
  reportProblems,
  request,
  runMain,
  runPass,
  seconds,
  sleep,
  startServer,
  stopServer,
  writeResults,
} from "./lib.mjs";
import { profiled } from "./profile.mjs";

const USERS = positiveInt("BENCH_PET_USERS", 1000);
const DURATION = positiveInt("BENCH_DURATION", 10);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const SOLO_DURATION = 5;
const WARMUP_SECONDS = 2;
const SETUP_CONCURRENCY = 10;
const SPECIES = ["dog", "cat", "dragon", "owl", "fox"];
const TARGET_P99_MS = 50;
const FEED_WAIT_SECONDS = 120;
const DRAIN_SECONDS = 15;

/** One user: registered, with a pet, and a task of one step finished (its XP becomes the pet's treats). */
async function setUpUser(base, i) {
  const email = `bench-pet-${i}-${Date.now()}@example.com`;
  const auth = await request(base, "POST", "/api/v1/auth/register", {
    body: { email, password: `bench-pet-password-${i}`, display_name: `Pet owner ${i}` },
    expected: 201,
  });
  const token = auth.access_token;
  await request(base, "POST", "/api/v1/pets", {
    token,
    body: { species: SPECIES[i % SPECIES.length], name: `Buddy ${i}` },
    expected: 201,
  });
  const task = await request(base, "POST", "/api/v1/tasks", {
    token,
    body: { title: "Water the plants", priority: "high", micro_steps: [{ description: "Fill the can" }] },
    expected: 201,
  });
  const step = task.micro_steps[0];
  await request(base, "POST", `/api/v1/tasks/${task.task_id}/steps/${step.step_id}/complete`, {
    token,
    expected: 200,
  });
  return { token };
}

/** Waits until every pet has the treats its owner's work earned (the events queue delivers them). */
async function waitForTreats(base, users) {
  const started = performance.now();
  let pending = users;
  while (pending.length > 0) {
    if ((performance.now() - started) / 1000 > FEED_WAIT_SECONDS) {
      throw new Error(`${pending.length} pets got no treats within ${FEED_WAIT_SECONDS} s`);
    }
    const pets = await mapConcurrent(pending, SETUP_CONCURRENCY * 2, (user) =>
      request(base, "GET", "/api/v1/pets/me", { token: user.token, expected: 200 }),
    );
    pending = pending.filter((_, i) => pets[i].treats === 0);
    if (pending.length > 0) await sleep(1000);
    else return pets.reduce((n, p) => Math.min(n, p.treats), Number.POSITIVE_INFINITY);
  }
  return 0;
}

/** A route whose every request is made as the next user in turn. */
function asEachUser(name, method, path, users, body) {
  let n = 0;
  const headers = { "content-type": "application/json", accept: "application/json" };
  return {
    name,
    method,
    path,
    headers,
    body,
    options: () => ({
      requests: [
        {
          method,
          path,
          setupRequest: (req) => {
            n += 1;
            const user = users[n % users.length];
            return { ...req, headers: { ...headers, authorization: `Bearer ${user.token}` }, body };
          },
        },
      ],
    }),
  };
}

async function main() {
  checkEnvironment("npm run bench:pets");
  log(`config: ${USERS} users with pets, ${CONNECTIONS} connections, ${DURATION} s per route`);
  prepareState();
  const base = await startServer();

  let t = performance.now();
  const users = await mapConcurrent(
    Array.from({ length: USERS }, (_, i) => i),
    SETUP_CONCURRENCY,
    (i) => setUpUser(base, i),
  );
  log(`${USERS} users registered, adopted a pet and finished a step in ${seconds(t)} s`);
  t = performance.now();
  const fewest = await waitForTreats(base, users);
  log(`every pet was fed by its owner's work (at least ${fewest} XP of treats each) in ${seconds(t)} s`);
  t = performance.now();
  await mapConcurrent(users, SETUP_CONCURRENCY, (user) =>
    request(base, "POST", "/api/v1/pets/me/feed", {
      token: user.token,
      body: { xp_amount: 1 },
      expected: 200,
    }),
  );
  log(`every user fed their pet once (${USERS} pet.fed events) in ${seconds(t)} s`);
  log(`letting the events queue drain (${DRAIN_SECONDS} s)`);
  await sleep(DRAIN_SECONDS * 1000);

  const feedBody = JSON.stringify({ xp_amount: 1 });
  const routes = [
    { name: "GET /health", method: "GET", path: "/health" },
    asEachUser("GET /api/v1/pets/level/me/status", "GET", "/api/v1/pets/level/me/status", users),
    asEachUser("POST /api/v1/pets/me/feed (1 XP)", "POST", "/api/v1/pets/me/feed", users, feedBody),
  ];
  // BENCH_PROFILE=1: a CPU profile of the Worker over the whole load pass (bench/profile.mjs).
  const load = await profiled("pets-load", () =>
    runPass(base, routes, CONNECTIONS, DURATION, WARMUP_SECONDS),
  );
  log(`letting the pets' D1 writes and the events queue drain (${DRAIN_SECONDS} s)`);
  await sleep(DRAIN_SECONDS * 1000);
  const solo = await runPass(base, routes, 1, SOLO_DURATION, 0);
  const sample = await request(base, "GET", "/api/v1/pets/me", { token: users[1].token, expected: 200 });
  await stopServer();

  printTargetTable(
    `Over HTTP, ${CONNECTIONS} connections, ${DURATION} s per route (${USERS} users in turn)`,
    load,
    TARGET_P99_MS,
  );
  printTargetTable(`Over HTTP, 1 connection, ${SOLO_DURATION} s per route`, solo, TARGET_P99_MS);
  log(
    `the first fed pet after the run: level ${sample.level}, ${sample.total_xp} XP fed, ${sample.treats} treats left`,
  );
  if (sample.total_xp < 2) throw new Error("the first pet fed in the passes shows no feed");
  const bad = reportProblems([...load, ...solo]);
  writeResults("pets.json", {
    finished_at: new Date().toISOString(),
    config: { users: USERS, connections: CONNECTIONS, duration_s: DURATION },
    load,
    solo,
    ok: bad.length === 0,
  });
  return bad.length === 0 ? 0 : 1;
}

await runMain(main);
