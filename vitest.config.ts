import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations("./migrations");

// The config runs in Node; the project's types are the Workers runtime's, which have no node:fs.
const fsModule = "node:fs";
const { readdirSync } = (await import(fsModule)) as { readdirSync(path: string): string[] };

/** What every feature folder, Durable Object and shared folder is held to, on its own. */
const BAR = { lines: 90, branches: 85 };

const units = [
  ...readdirSync("src/features").map((name) => `src/features/${name}/**`),
  ...readdirSync("durable-objects").map((name) => `durable-objects/${name}`),
  "src/lib/**",
  "src/jobs/**",
  "src/middleware/**",
  "src/db/**",
];
const perUnit = Object.fromEntries(units.map((unit) => [unit, BAR]));

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      // Workers AI is remote-only; tests fake it at the boundary instead.
      remoteBindings: false,
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          // A test-only signing secret; real ones come from .dev.vars or `wrangler secret put`.
          JWT_SECRET: "test-secret-that-is-long-enough-for-hs256-signing",
          CORS_ORIGINS: "https://app.example.com",
          ADMIN_EMAILS: "admin@example.com",
          // A hanging fake model is given up on quickly.
          SPLIT_AI_TIMEOUT_MS: "400",
          // The background categoriser stays local: the queue delivers task.created while other tests spy
          // on env.AI.run. tests/categories.test.ts turns it on for its own deliveries, with a fake AI.
          CATEGORISER: "local",
          CATEGORISE_AI_TIMEOUT_MS: "300",
          // A test-only VAPID pair (node scripts/vapid-keys.mjs); real ones come from .dev.vars or `wrangler secret put`.
          VAPID_PUBLIC_KEY:
            "BF_JfCZ2PnBCIZk7KBbmX0JSoqwHviyAEBnzguH5RKefvm1Ob7kYu8ntJg5b43BcFQc1RrNCri84qRFluq9m47o",
          VAPID_PRIVATE_KEY: "j9sGAPGLGOrX-_sMM7ft67VuprGPyeFk4-HL7BU8888",
          VAPID_SUBJECT: "mailto:push-admin@example.com",
          // Push services live outside this machine: tests answer them with fakes (tests/fakes/).
          EXPO_PUSH_URL: "https://expo.fake.test/--/api/v2/push",
          // The fake push services of tests/fakes/push-service.ts (and their subdomains).
          PUSH_SERVICE_HOSTS: "push.fake.test",
          // A hanging push service is given up on quickly (10 s in production).
          PUSH_TIMEOUT_MS: "300",
          // A log line per request would bury the suite's output: only failures and slow statements.
          REQUEST_LOGS: "errors",
          // The metrics and slow-query stores are written after a request (a trip the round-trip counts
          // of the hot-route tests must not see): only where a test asks, never by a clock running out.
          METRICS_FLUSH_SECONDS: "86400",
          SLOW_QUERY_MS: "600000",
        },
        // The suite drives thousands of writes per user (fuzzing, races, bulk registrations): the real
        // limiters run, with room for that; tests/rate-limits.test.ts checks what a refusal looks like.
        ratelimits: Object.fromEntries(
          ["WRITE_LIMITER", "AI_LIMITER", "AUTH_LIMITER", "REFRESH_LIMITER", "IMPORT_LIMITER"].map(
            (name, i) => [name, { namespace_id: String(9001 + i), simple: { limit: 1_000_000, period: 60 } }],
          ),
        ),
      },
    }),
  ],
  test: {
    setupFiles: ["./tests/helpers/setup.ts"],
    testTimeout: 30_000,
    coverage: {
      provider: "istanbul",
      include: ["src/**/*.ts", "durable-objects/**/*.ts"],
      // json-summary: per-file counts, which scripts/coverage-by-feature.mjs adds up per feature folder.
      reporter: ["text-summary", "text", "json-summary"],
      thresholds: { lines: 90, ...perUnit },
    },
  },
});
