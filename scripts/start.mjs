// `npm start`: apply D1 migrations locally, serve the API with wrangler dev, and seed a demo account
// (with demo tasks) the first time. PORT overrides the port (default 8787).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { seedDemo } from "../seeds/demo.mjs";
import { vapidKeyLines } from "./vapid-keys.mjs";

const port = Number(process.env.PORT ?? 8787);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

if (!existsSync(".dev.vars")) {
  // A fresh random dev secret; never committed (.gitignore), never used in production.
  writeFileSync(".dev.vars", `JWT_SECRET=${randomBytes(48).toString("base64url")}\n`);
  console.log("Created .dev.vars with a random JWT_SECRET for local development.");
}

// Web Push needs a VAPID key pair; .dev.vars files made before it get one appended. A file with only one
// of the two lines is left for the developer to mend: we never rewrite lines they may have set by hand.
const devVars = readFileSync(".dev.vars", "utf8");
const hasPublic = /^VAPID_PUBLIC_KEY=/m.test(devVars);
const hasPrivate = /^VAPID_PRIVATE_KEY=/m.test(devVars);
if (!hasPublic && !hasPrivate) {
  appendFileSync(".dev.vars", `${devVars === "" || devVars.endsWith("\n") ? "" : "\n"}${vapidKeyLines()}`);
  console.log("Added a fresh VAPID key pair to .dev.vars for local Web Push.");
} else if (hasPublic !== hasPrivate) {
  console.warn(
    ".dev.vars has only one of VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY; run `node scripts/vapid-keys.mjs`.",
  );
}

const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: { ...env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const server = spawn(
  "npx",
  [
    "wrangler",
    "dev",
    // Offline-friendly: remote-only bindings (Workers AI) are left out and the local fallbacks answer.
    "--local",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    // The local cron endpoint: GET /__scheduled?cron=*+*+*+*+* runs the minute job (reminders …) now.
    "--test-scheduled",
    "--var",
    `API_BASE_URL:http://localhost:${port}`,
    // Webhooks may go to a receiver on this machine (http://127.0.0.1:<port>); production keeps it off.
    "--var",
    "WEBHOOKS_ALLOW_LOCAL:true",
  ],
  { stdio: "inherit", env },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 0));

const base = `http://127.0.0.1:${port}`;
const deadline = Date.now() + 60_000;
while (Date.now() < deadline) {
  try {
    const res = await fetch(`${base}/health`);
    if (res.ok) break;
  } catch {
    // not up yet
  }
  await new Promise((r) => setTimeout(r, 300));
}
try {
  await seedDemo(base, console.log);
  console.log(`\nAPI: ${base}   docs: ${base}/docs   OpenAPI: ${base}/openapi.json\n`);
} catch (error) {
  console.error("Seeding the demo account failed:", error);
}
