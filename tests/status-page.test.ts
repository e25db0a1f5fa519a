import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { niceCeiling } from "../src/features/status/chart";
import { forgetStatus } from "../src/features/status/service";
import { call, callWith, createUser } from "./helpers/api";
import { createTask } from "./helpers/tasks";

beforeEach(() => forgetStatus());

describe("GET /status", () => {
  it("shows every dependency up and the hour's routes in a chart and a table, with no user data", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Status page secret title" });
    for (let i = 0; i < 5; i += 1) await call("/api/v1/tasks", { token: user.token });
    await call(`/api/v1/tasks/${task.task_id}`, { token: user.token });

    const res = await call("/status");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("All systems operational");
    for (const part of [
      "Database (D1)",
      "Focus timers",
      "Pets",
      "Leaderboards",
      "Focus rooms",
      "File storage (R2)",
    ])
      expect(html).toContain(part);
    // The chart: an inline SVG with a line per busy route, and the table names routes by template.
    const svg = html.slice(html.indexOf("<svg"), html.indexOf("</svg>"));
    expect(svg).toContain('<path d="M');
    expect(html).toContain("GET /api/v1/tasks</code>");
    expect(html).toContain("GET /api/v1/tasks/{task_id}</code>");
    for (const secret of [task.task_id, user.id, user.email, "Status page secret title"])
      expect(html).not.toContain(secret);
    expect(html).not.toMatch(/<script/i);
  });

  it("says which part is down", async () => {
    const brokenR2 = new Proxy(env.FILES, {
      get: (target, prop) =>
        prop === "head" ? () => Promise.reject(new Error("R2 is unreachable")) : Reflect.get(target, prop),
    });
    const res = await callWith({ FILES: brokenR2 }, "/status");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Some systems are down");
    expect(html).toMatch(/File storage \(R2\)<\/td><td class="down">Down/);
    expect(html).toMatch(/Database \(D1\)<\/td><td class="up">Operational/);
  });

  it("still shows the dependencies when the database is down, and says the figures cannot be read", async () => {
    const down = {
      withSession: () => ({
        prepare: () => {
          throw new Error("D1_ERROR: Network connection lost.");
        },
        batch: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
        getBookmark: () => null,
      }),
    } as unknown as D1Database;
    const res = await callWith({ DB: down }, "/status");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Some systems are down");
    expect(html).toMatch(/Database \(D1\)<\/td><td class="down">Down/);
    expect(html).toContain("cannot be read right now");
  });

  it("is built at most every 15 seconds, however often it is loaded", async () => {
    const first = await (await call("/status")).text();
    await call("/health/live");
    const second = await (await call("/status")).text();
    expect(second).toBe(first);
    expect((await call("/status")).headers.get("cache-control")).toBe("public, max-age=15");
  });
});

describe("the chart's scale", () => {
  it("rounds the top up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 1.2, 3, 7, 12, 180, 501].map(niceCeiling)).toEqual([
      1, 0.5, 1, 2, 5, 10, 20, 200, 1000,
    ]);
  });
});
