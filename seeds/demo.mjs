// Seeds a demo account with demo tasks through the public API, so the seed always goes through the
// same validation, hashing and events as real use. Idempotent: an existing demo account is left alone.
import { readFileSync } from "node:fs";

export const DEMO_EMAIL = "demo@proxy-agent.dev";
export const DEMO_PASSWORD = "demo-password-123";

async function post(base, path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** A companion for the demo account (finished steps feed it: GET /api/v1/pets/me); one already there is kept. */
async function adoptDemoPet(base, token) {
  const pet = await post(base, "/api/v1/pets", { species: "fox", name: "Sorrel" }, token);
  if (pet.status !== 201 && pet.status !== 409)
    throw new Error(`adopt answered ${pet.status}: ${JSON.stringify(pet.body)}`);
}

/** One task from a platform template, and one split into micro-steps by the local splitter. */
async function shapeDemoTasks(base, token) {
  const fromTemplate = await post(
    base,
    "/api/v1/templates/tpl_pay_a_bill/apply",
    { title: "Pay the electricity bill" },
    token,
  );
  if (fromTemplate.status !== 201)
    throw new Error(`apply template answered ${fromTemplate.status}: ${JSON.stringify(fromTemplate.body)}`);
  const garage = await post(base, "/api/v1/tasks", { title: "Clean the garage", priority: "low" }, token);
  const split = await post(
    base,
    `/api/v1/tasks/split/${garage.body.task_id}`,
    { energy_level: "medium", difficulty: 3, apply: true, splitter: "local" },
    token,
  );
  if (split.status !== 200) throw new Error(`split answered ${split.status}: ${JSON.stringify(split.body)}`);
}

export async function seedDemo(base, log = console.log) {
  const registered = await post(base, "/api/v1/auth/register", {
    email: DEMO_EMAIL,
    password: DEMO_PASSWORD,
    display_name: "Demo",
    timezone: "America/New_York",
  });
  if (registered.status === 409) {
    // A state from before pets: the demo account gets its fox all the same.
    const login = await post(base, "/api/v1/auth/login", { email: DEMO_EMAIL, password: DEMO_PASSWORD });
    if (login.status === 200) await adoptDemoPet(base, login.body.access_token);
    log(`Demo account already there: ${DEMO_EMAIL} / ${DEMO_PASSWORD}`);
    return;
  }
  if (registered.status !== 201)
    throw new Error(`register answered ${registered.status}: ${JSON.stringify(registered.body)}`);
  const token = registered.body.access_token;
  const tasks = JSON.parse(readFileSync(new URL("./demo-tasks.json", import.meta.url), "utf8"));
  for (const task of tasks) {
    const created = await post(base, "/api/v1/tasks", task, token);
    if (created.status !== 201)
      throw new Error(`create task answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  await post(base, "/api/v1/capture", { text: "email Sam about rent tomorrow 5pm !high #home ~10m" }, token);
  await shapeDemoTasks(base, token);
  await adoptDemoPet(base, token);
  log(
    `Seeded demo account: ${DEMO_EMAIL} / ${DEMO_PASSWORD} (${tasks.length + 3} tasks, a fox named Sorrel)`,
  );
}
