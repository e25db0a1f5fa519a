// `npm run bench:rooms`: how fast a member's focus change reaches everyone in their focus room.
// BENCH_ROOMS rooms × BENCH_MEMBERS members (default 50 × 20: 1,000 people, 1,000 room sockets) on a
// throwaway `wrangler dev`. Each member starts a focus session over HTTP and then pauses it; per other
// member's room socket the bench times from sending the request to receiving the `state` message that
// shows the change. BENCH_CONNECTIONS members act at a time (default 50). GET /health is timed at the
// same concurrency before each pass. BENCH_ROUNDS rounds (default 3) of start and pause, each member's
// session abandoned and its timer left idle between rounds (so every start meets a cold timer, as in
// the first); the target is the median of the rounds' delivery p99 ÷ /health p99 within 2×, and 0
// drops. See bench/README.md.
//
// Exit: 0 when every socket got every message with gap-free sequence numbers and no socket dropped;
// 1 on setup failure, a non-2xx answer, a drop, a gap or a missing message.
import {
  checkEnvironment,
  fixed,
  log,
  mapConcurrent,
  positiveInt,
  prepareState,
  registerUser,
  request,
  runMain,
  seconds,
  sleep,
  startServer,
  stopServer,
  writeResults,
} from "./lib.mjs";
import { call, countCode, healthPass, printPass, stats, withServerCpu } from "./live.mjs";
import { profiled } from "./profile.mjs";

const ROOMS = positiveInt("BENCH_ROOMS", 50);
const MEMBERS = positiveInt("BENCH_MEMBERS", 20);
const CONNECTIONS = positiveInt("BENCH_CONNECTIONS", 50);
const ROUNDS = positiveInt("BENCH_ROUNDS", 3);
/** Idle time after the sessions are abandoned between rounds: longer than a Durable Object stays in memory idle. */
const IDLE_BETWEEN_ROUNDS_MS = 20_000;
const SETUP_CONCURRENCY = 10;
const MESSAGE_TIMEOUT_MS = 15_000;
const TARGET_RATIO = 2;
const START = { kind: "custom", duration_minutes: 25 };

/**
 * One member's room socket. `expect(memberId, test)` resolves with the arrival time of the first
 * `state` message carrying that member with their focus passing `test` (null on timeout or close).
 * Sequence numbers are checked as they come: any gap is counted.
 */
class RoomSocket {
  constructor(base, roomId, token, name) {
    this.name = name;
    this.dropped = false;
    this.closing = false;
    this.gaps = 0;
    this.seq = null;
    this.waiting = [];
    this.ws = new WebSocket(`${base.replace(/^http/, "ws")}/api/v1/rooms/${roomId}/ws`, [
      "pap.room.v1",
      `bearer.${token}`,
    ]);
    this.hello = new Promise((resolve, reject) => {
      this.ws.addEventListener("error", () => reject(new Error(`room socket ${name} failed to open`)), {
        once: true,
      });
      this.ws.addEventListener("message", (event) => {
        const at = performance.now();
        const message = JSON.parse(String(event.data));
        if (message.type === "hello") {
          this.seq = message.seq;
          this.you = message.you;
          resolve(message);
          return;
        }
        if (message.type !== "state") return;
        if (this.seq !== null && message.seq !== this.seq + 1) this.gaps++;
        this.seq = message.seq;
        // A change carries only the member who changed (member_* events), never the whole room.
        const member = message.member;
        if (!member) return;
        for (let i = this.waiting.length - 1; i >= 0; i--) {
          const w = this.waiting[i];
          if (member.member_id === w.memberId && w.test(member.focus))
            this.waiting.splice(i, 1)[0].resolve(at);
        }
      });
    });
    this.ws.addEventListener("close", () => {
      if (!this.closing) this.dropped = true;
      for (const w of this.waiting.splice(0)) w.resolve(null);
    });
  }

  expect(memberId, test) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), MESSAGE_TIMEOUT_MS);
      this.waiting.push({
        memberId,
        test,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  close() {
    this.closing = true;
    this.ws.close(1000, "bench done");
  }
}

/**
 * Every member does `action` (`concurrency` at a time); per other member of the room, request sent →
 * the room socket showing the change.
 */
async function actionPass(base, members, concurrency, action, pooled) {
  const deliveries = [];
  const http = [];
  const codes = {};
  let missed = 0;
  const began = performance.now();
  await mapConcurrent(members, concurrency, async (member) => {
    const others = member.room.members.filter((m) => m !== member);
    const arrivals = others.map((o) => o.socket.expect(member.memberId, action.shows));
    const answer = await call(base, "POST", action.path, member.token, action.body);
    countCode(codes, answer.status);
    http.push(answer.ms);
    for (const at of await Promise.all(arrivals)) {
      if (at === null) missed++;
      else deliveries.push(at - answer.started);
    }
  });
  pooled.deliveries.push(...deliveries);
  pooled.http.push(...http);
  return {
    deliveries: stats(deliveries),
    http: stats(http),
    codes,
    missed,
    elapsed_s: (performance.now() - began) / 1000,
  };
}

const ACTIONS = [
  {
    name: "start",
    path: "/api/v1/focus/enhanced/start",
    body: START,
    status: 201,
    shows: (focus) => focus.status === "focusing",
  },
  {
    name: "pause",
    path: "/api/v1/focus/enhanced/pause",
    body: {},
    status: 200,
    shows: (focus) => focus.status === "paused",
  },
];

/** The mean, or null when a value is missing (no CPU figure where /proc cannot be read). */
function meanOrNull(values) {
  if (values.some((v) => v === null || v === undefined)) return null;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** The middle value; of an even count, the higher of the two middle ones (a round that was run, not a mean). */
function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** delivery p99 ÷ /health p99, or null when either pass has no samples. */
function ratioOrNull(p99, healthP99) {
  return p99 === null || healthP99 === null || healthP99 === 0 ? null : p99 / healthP99;
}

/** Ends every member's session between rounds (not measured), so the next round can start them again. */
const RESET = { path: "/api/v1/focus/enhanced/abandon", body: {}, status: 200 };

const LABELS = {
  health: "GET /health (HTTP round trip, same concurrency)",
  http: "the focus request (HTTP round trip)",
  delivery: "request sent → each other member's room socket",
};

/**
 * Between rounds: every member's session is abandoned (`codes` counts the answers: any but 200 fails
 * the run, which still goes on to report), then the server is left idle until the timers are out of
 * memory again.
 */
async function resetRound(base, members, codes) {
  log(`between rounds: abandoning ${members.length} sessions, then ${IDLE_BETWEEN_ROUNDS_MS / 1000} s idle`);
  await mapConcurrent(members, CONNECTIONS, async (member) => {
    const answer = await call(base, "POST", RESET.path, member.token, RESET.body);
    countCode(codes, answer.status);
  });
  await sleep(IDLE_BETWEEN_ROUNDS_MS);
}

async function setUpRooms(base) {
  const people = ROOMS * MEMBERS;
  let t = performance.now();
  const tokens = await mapConcurrent(Array.from({ length: people }), SETUP_CONCURRENCY, () =>
    registerUser(base, { quiet: true }),
  );
  log(`registered ${people} users in ${seconds(t)} s`);

  t = performance.now();
  const rooms = await mapConcurrent(Array.from({ length: ROOMS }), SETUP_CONCURRENCY, async (_, r) => {
    const owner = tokens[r * MEMBERS];
    const created = await request(base, "POST", "/api/v1/rooms", {
      token: owner,
      body: { name: `Bench room ${r + 1}`, max_members: MEMBERS, sync_pomodoro: false },
      expected: 201,
    });
    const room = { id: created.room_id, members: [{ token: owner }] };
    for (let m = 1; m < MEMBERS; m++) {
      const token = tokens[r * MEMBERS + m];
      await request(base, "POST", "/api/v1/rooms/join", {
        token,
        body: { code: created.code },
        expected: 200,
      });
      room.members.push({ token });
    }
    for (const member of room.members) member.room = room;
    return room;
  });
  log(`created ${ROOMS} rooms of ${MEMBERS} members in ${seconds(t)} s`);

  t = performance.now();
  const members = rooms.flatMap((room) => room.members);
  await mapConcurrent(members, CONNECTIONS, async (member, i) => {
    member.socket = new RoomSocket(base, member.room.id, member.token, `m${i}`);
    const hello = await member.socket.hello;
    member.memberId = hello.you;
    if (hello.state.members.length !== MEMBERS) {
      throw new Error(`room ${member.room.id} shows ${hello.state.members.length} members, not ${MEMBERS}`);
    }
  });
  log(`opened ${members.length} room sockets (each got its hello) in ${seconds(t)} s`);
  return members;
}

async function main() {
  checkEnvironment("npm run bench:rooms");
  log(
    `config: ${ROOMS} rooms × ${MEMBERS} members, ${CONNECTIONS} members acting at a time, ${ROUNDS} rounds`,
  );
  prepareState();
  const base = await startServer();
  const members = await setUpRooms(base);

  const passes = [];
  const resetCodes = {};
  const pooled = new Map(ACTIONS.map((a) => [a.name, { deliveries: [], http: [], health: [] }]));
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1) await resetRound(base, members, resetCodes);
    for (const action of ACTIONS) {
      const pool = pooled.get(action.name);
      log(`round ${round}/${ROUNDS}: baseline, ${members.length} GET /health, ${CONNECTIONS} at a time`);
      const health = await healthPass(base, members.length, CONNECTIONS, pool.health);
      log(`round ${round}/${ROUNDS}: ${action.name} pass, every member, ${CONNECTIONS} at a time`);
      const pass = await withServerCpu(members.length, () =>
        profiled(`rooms-${action.name}-${round}`, () => actionPass(base, members, CONNECTIONS, action, pool)),
      );
      passes.push({ round, action, pass, health });
    }
  }

  const sockets = members.map((m) => m.socket);
  const dropped = sockets.filter((s) => s.dropped).length;
  const gaps = sockets.reduce((n, s) => n + s.gaps, 0);
  for (const socket of sockets) socket.close();
  await stopServer();

  console.log(`\nSetup: ${ROOMS} rooms × ${MEMBERS} members, ${sockets.length} room sockets open throughout`);
  for (const { round, action, pass, health } of passes) {
    printPass(
      `round ${round}/${ROUNDS}, ${action.name}: ${members.length} members, ${CONNECTIONS} at a time ` +
        `(${fixed(pass.elapsed_s, 1)} s)`,
      pass,
      health,
      LABELS,
    );
  }
  const overall = ACTIONS.map((action) => {
    const pool = pooled.get(action.name);
    const mine = passes.filter((p) => p.action === action);
    return {
      action,
      deliveries: stats(pool.deliveries),
      http: stats(pool.http),
      health: { ...stats(pool.health), cpu_ms_per_op: meanOrNull(mine.map((p) => p.health.cpu_ms_per_op)) },
      cpu_ms_per_op: meanOrNull(mine.map((p) => p.pass.cpu_ms_per_op)),
      codes: mine.reduce((codes, p) => {
        for (const [code, n] of Object.entries(p.pass.codes)) codes[code] = (codes[code] ?? 0) + n;
        return codes;
      }, {}),
      missed: mine.reduce((n, p) => n + p.pass.missed, 0),
      round_ratios: mine.map((p) => ratioOrNull(p.pass.deliveries.p99_ms, p.health.p99_ms)),
    };
  });
  for (const summary of overall) {
    printPass(
      `${summary.action.name}, all ${ROUNDS} rounds pooled (informational: the target is the median round; ` +
        `per round, delivery p99 ÷ /health p99: ` +
        `${summary.round_ratios.map((r) => fixed(r, 2)).join(", ")})`,
      summary,
      summary.health,
      LABELS,
    );
  }
  console.log(`\nDropped room sockets: ${dropped} of ${sockets.length}; sequence gaps: ${gaps}`);
  const targets = overall.map(({ action, round_ratios }) => {
    // A round without a ratio (no delivery arrived) fails the target whatever the others did.
    const value = round_ratios.includes(null) ? null : median(round_ratios);
    return {
      target: `${action.name} → room socket p99 ≤ ${TARGET_RATIO}× GET /health p99 (median of ${ROUNDS} rounds)`,
      value,
      pass: value !== null && value <= TARGET_RATIO,
    };
  });
  targets.push({ target: "0 dropped sockets, 0 gaps, 0 missing messages", value: null, pass: false });
  const missed = overall.reduce((n, p) => n + p.missed, 0);
  targets.at(-1).pass = dropped === 0 && gaps === 0 && missed === 0;
  console.log("\nTargets:");
  for (const tgt of targets) {
    const value = tgt.value === null ? "" : `: ${fixed(tgt.value, 2)}×`;
    console.log(`${tgt.pass ? "PASS" : "FAIL"}  ${tgt.target}${value}`);
  }

  const unexpectedIn = (codes, status) =>
    Object.entries(codes).reduce((m, [code, c]) => m + (Number(code) === status ? 0 : c), 0);
  const unexpected =
    passes.reduce((n, { action, pass }) => n + unexpectedIn(pass.codes, action.status), 0) +
    unexpectedIn(resetCodes, RESET.status);
  const ok = dropped === 0 && gaps === 0 && missed === 0 && unexpected === 0;
  if (!ok) {
    console.log(
      `ERROR ${dropped} dropped, ${gaps} gaps, ${missed} missing messages, ${unexpected} bad answers`,
    );
  }
  writeResults("rooms.json", {
    finished_at: new Date().toISOString(),
    node: process.versions.node,
    config: { rooms: ROOMS, members: MEMBERS, connections: CONNECTIONS, rounds: ROUNDS },
    passes: passes.map(({ round, action, pass, health }) => ({
      round,
      action: action.name,
      ...pass,
      health,
    })),
    pooled: overall.map(({ action, ...summary }) => ({ action: action.name, ...summary })),
    reset_codes: resetCodes,
    dropped,
    gaps,
    targets,
    ok,
  });
  return ok ? 0 : 1;
}

await runMain(main);
