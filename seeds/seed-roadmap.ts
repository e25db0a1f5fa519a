// `npm run seed:roadmap -- [--base URL] [--email E --password P]`: loads the roadmap into an account
// of a running API (default: the demo account on http://localhost:8787). Safe to run again.
import { parseArgs } from "node:util";
import { seedRoadmap } from "./roadmap.ts";

const { values } = parseArgs({
  options: {
    base: { type: "string", default: process.env.API_BASE ?? `http://localhost:${process.env.PORT ?? 8787}` },
    email: { type: "string", default: "demo@proxy-agent.dev" },
    password: { type: "string", default: "demo-password-123" },
  },
});
const base = values.base.replace(/\/$/, "");
const fetcher = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);

const login = await fetcher("/api/v1/auth/login", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ email: values.email, password: values.password }),
});
if (!login.ok) {
  console.error(`Login as ${values.email} failed (${login.status}): ${await login.text()}`);
  process.exit(1);
}
const { access_token: token } = (await login.json()) as { access_token: string };
const { created, existing } = await seedRoadmap(fetcher, token);
console.log(`Roadmap: ${created} meta-tasks created, ${existing} already there (account ${values.email}).`);
