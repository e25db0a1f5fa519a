import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach } from "vitest";
import { thawClock } from "./clock";
import { enforceD1Limits, takeD1Violations } from "./d1-limits";

// Setup files run before each test file; applyD1Migrations skips what is already applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
enforceD1Limits();

afterEach(() => {
  // A clock a test froze never leaks into the next test.
  thawClock();
  // A statement production D1 would refuse fails the test that issued it, even if the code caught it.
  const refused = takeD1Violations();
  if (refused.length > 0) throw new Error(`D1 limits exceeded:\n${refused.join("\n")}`);
});
