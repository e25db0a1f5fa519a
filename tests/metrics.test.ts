import { describe, expect, it } from "vitest";
import type { z } from "zod";
import type { MetricsSchema } from "../src/features/metrics/schemas";
import { call, callJson, createUser } from "./helpers/api";
import { adminToken } from "./helpers/gamification";
import { createTask, type Task } from "./helpers/tasks";

type Metrics = z.infer<typeof MetricsSchema>;

describe("GET /api/v1/admin/metrics", () => {
  it("shows a burst of requests by route template, with percentiles, errors and D1 costs", async () => {
    const admin = await adminToken();
    const before = await callJson<Metrics>("/api/v1/admin/metrics?window=1h", 200, { token: admin });
    const user = await createUser();
    const tasks: Task[] = [];
    for (let i = 0; i < 4; i += 1) tasks.push(await createTask(user, { title: `Burst ${i}` }));
    for (const task of tasks) await call(`/api/v1/tasks/${task.task_id}`, { token: user.token });
    for (let i = 0; i < 20; i += 1) await call("/api/v1/tasks?limit=5", { token: user.token });
    await call(`/api/v1/tasks/${crypto.randomUUID()}`, { token: user.token });

    const after = await callJson<Metrics>("/api/v1/admin/metrics?window=1h", 200, { token: admin });
    const route = (method: string, template: string) =>
      after.routes.find((r) => r.method === method && r.route === template);
    const grew = (method: string, template: string) => {
      const old = before.routes.find((r) => r.method === method && r.route === template)?.requests ?? 0;
      return (route(method, template)?.requests ?? 0) - old;
    };
    // Templates, never raw paths: four task ids and a missing one are one route.
    // At least: other test files may count the same routes into the same store at the same time.
    expect(grew("GET", "/api/v1/tasks/{task_id}")).toBeGreaterThanOrEqual(5);
    expect(after.routes.some((r) => r.route.includes(tasks[0]?.task_id ?? "none"))).toBe(false);
    expect(grew("GET", "/api/v1/tasks")).toBeGreaterThanOrEqual(20);
    expect(grew("POST", "/api/v1/tasks")).toBeGreaterThanOrEqual(4);

    const list = route("GET", "/api/v1/tasks");
    expect(list?.p50_ms).toBeGreaterThanOrEqual(0);
    expect(list?.p99_ms).toBeGreaterThanOrEqual(list?.p50_ms ?? 0);
    expect(list?.p95_ms).toBeLessThanOrEqual(list?.p99_ms ?? 0);
    expect(list?.max_ms).toBeGreaterThanOrEqual(list?.p99_ms ?? 0);
    expect(list?.rows_read_per_request).toBeGreaterThan(0);
    expect(route("POST", "/api/v1/tasks")?.rows_written_per_request).toBeGreaterThan(0);
    // The missing task was a 404: the client's error, not the server's.
    expect(route("GET", "/api/v1/tasks/{task_id}")?.client_errors).toBeGreaterThanOrEqual(1);
    expect(after.requests).toBeGreaterThanOrEqual(before.requests + 29);
    expect(after.slowest.length).toBeLessThanOrEqual(5);
    expect(Date.parse(after.to) - Date.parse(after.from)).toBeLessThanOrEqual(60 * 60_000);
  });

  it("is for administrators only, and says which windows it knows", async () => {
    const user = await createUser();
    expect((await call("/api/v1/admin/metrics")).status).toBe(401);
    expect((await call("/api/v1/admin/metrics", { token: user.token })).status).toBe(403);
    const admin = await adminToken();
    expect((await call("/api/v1/admin/metrics?window=3y", { token: admin })).status).toBe(422);
  });
});
