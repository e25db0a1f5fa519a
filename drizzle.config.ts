import { defineConfig } from "drizzle-kit";

// Migrations are generated flat (migrations/NNNN_name.sql): the test helper and wrangler both read that layout.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/index.ts",
  out: "./migrations",
  migrations: { prefix: "index" },
});
