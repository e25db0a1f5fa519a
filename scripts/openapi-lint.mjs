// `npm run lint:openapi`: lints the OpenAPI document the Worker serves at GET /openapi.json with Redocly
// (rules: redocly.yaml). `node scripts/openapi-lint.mjs FILE` lints a saved document instead.
// Exits 1 on any error-level finding; warnings are counted and shown, a few per rule.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const REDOCLY = join(ROOT, "node_modules", "@redocly", "cli", "bin", "cli.js");
const TIMEOUT_MS = 120_000;
const SHOWN_PER_RULE = { error: 20, warn: 2 };

const say = (line) => console.log(`[openapi-lint] ${line}`);
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** The document, from the Worker run in-process by wrangler (workerd, local bindings, no network). */
async function fetchDocument(persistTo) {
  // Offline: no download of the Request.cf object, no usage metrics.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  process.env.WRANGLER_SEND_METRICS = "false";
  const { unstable_DevEnv } = await import("wrangler");
  // Our own DevEnv, not unstable_startWorker: a build error is only told on its events, and would
  // otherwise leave the fetch below waiting for ever.
  const devEnv = new unstable_DevEnv();
  const failed = new Promise((_, reject) => {
    devEnv.once("buildFailed", () => reject(new Error("the Worker did not build (see above)")));
    devEnv.once("error", (event) => reject(event instanceof Error ? event : new Error(String(event.reason))));
  });
  const worker = await devEnv.startWorker({
    config: join(ROOT, "wrangler.toml"),
    dev: {
      // Workers AI is remote-only; the route needs no binding, so none is reached for.
      remote: false,
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      watch: false,
      persist: persistTo,
      logLevel: "error",
    },
  });
  try {
    const res = await Promise.race([worker.fetch("http://localhost/openapi.json"), failed]);
    const text = await res.text();
    if (res.status !== 200)
      throw new Error(`GET /openapi.json answered ${res.status}: ${text.slice(0, 500)}`);
    const version = JSON.parse(text).openapi;
    if (!/^3\.1\./.test(version))
      throw new Error(`expected an OpenAPI 3.1 document, got openapi: ${version}`);
    return text;
  } finally {
    await worker.dispose();
  }
}

/** Redocly's findings for `file`: [{ ruleId, severity, message, location: [{ pointer }] }]. */
function lint(file) {
  const run = spawnSync(
    process.execPath,
    [REDOCLY, "lint", file, "--config", join(ROOT, "redocly.yaml"), "--format=json", "--max-problems=100000"],
    {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_NOTIFICATIONS: "true" },
    },
  );
  if (run.error) throw run.error;
  try {
    return JSON.parse(run.stdout).problems;
  } catch {
    // A bad config or an unreadable document: Redocly said why on stderr.
    throw new Error(`redocly lint gave no report (exit ${run.status}):\n${run.stderr}`);
  }
}

function report(problems) {
  const byRule = Map.groupBy(problems, (p) => `${p.severity} ${p.ruleId}`);
  for (const [key, list] of [...byRule].sort(([a], [b]) => a.localeCompare(b))) {
    const shown = SHOWN_PER_RULE[list[0].severity] ?? SHOWN_PER_RULE.warn;
    say(`${key}: ${list.length}`);
    for (const p of list.slice(0, shown)) console.log(`    ${p.location[0]?.pointer ?? "#"}  ${p.message}`);
    if (list.length > shown) console.log(`    … and ${list.length - shown} more`);
  }
}

const started = performance.now();
// A hung Worker or linter must not hold `npm test` up for ever.
setTimeout(() => {
  console.error(`[openapi-lint] gave up after ${TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TIMEOUT_MS).unref();

const dir = mkdtempSync(join(tmpdir(), "openapi-lint-"));
try {
  let file = process.argv[2];
  if (!file) {
    file = join(dir, "openapi.json");
    const document = await fetchDocument(join(dir, "state"));
    writeFileSync(file, document);
    say(`GET /openapi.json: ${(document.length / 1024).toFixed(0)} KiB (${seconds(started)})`);
  }
  const problems = lint(file);
  report(problems);
  const errors = problems.filter((p) => p.severity === "error").length;
  const verdict = errors > 0 ? "FAILED" : "passed";
  say(`${verdict}: ${errors} error(s), ${problems.length - errors} warning(s) (${seconds(started)} in all)`);
  if (errors > 0) process.exitCode = 1;
} catch (error) {
  say(`FAILED: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
