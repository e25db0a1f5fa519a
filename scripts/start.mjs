// `npm start`: apply D1 migrations locally, serve the API with wrangler dev, and seed a demo account
// (with demo tasks) the first time. PORT overrides the port (default 8787).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { seedDemo } from "../seeds/demo.mjs";

const port = Number(process.env.PORT ?? 8787);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

if (!existsSync(".dev.vars")) {
  // A fresh random dev secret; never committed (.gitignore), never used in production.
  writeFileSync(".dev.vars", `JWT_SECRET=${randomBytes(48).toString("base64url")}\n`);
  console.log("Created .dev.vars with a random JWT_SECRET for local development.");
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
    "--var",
    `API_BASE_URL:http://localhost:${port}`,
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
