import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, vi } from "vitest";

// Setup files run before each test file; applyD1Migrations skips what is already applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// A clock a test froze (tests/helpers/clock.ts) never leaks into the next test.
afterEach(() => {
  vi.useRealTimers();
});
