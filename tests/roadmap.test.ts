import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ROADMAP, seedRoadmap } from "../seeds/roadmap";
import { BASE, callJson, createUser } from "./helpers/api";
import { completeTask, type Task } from "./helpers/tasks";

const fetcher = (path: string, init?: RequestInit) => exports.default.fetch(`${BASE}${path}`, init);

describe("roadmap seed", () => {
  it("loads BE-00 … BE-15 and FE-01 … FE-07 as meta-tasks with steps, once", async () => {
    const user = await createUser();
    expect(await seedRoadmap(fetcher, user.token)).toEqual({ created: 23, existing: 0 });
    expect(await seedRoadmap(fetcher, user.token)).toEqual({ created: 0, existing: 23 });
    const tasks = await callJson<(Task & { task_source: string; estimated_minutes: number })[]>(
      "/api/v1/tasks?is_meta_task=true&limit=100&include=micro_steps",
      200,
      { token: user.token },
    );
    expect(tasks).toHaveLength(23);
    const be00 = tasks.find((t) => t.title.startsWith("BE-00"));
    expect(be00).toMatchObject({
      priority: "critical",
      delegation_mode: "DO_WITH_ME",
      task_source: "roadmap",
      estimated_minutes: 540,
    });
    expect(be00?.micro_steps).toHaveLength(7);
    const byCode = new Map(tasks.map((t) => [t.title.slice(0, 5), t]));
    expect(byCode.get("BE-12")?.depends_on).toEqual([byCode.get("BE-11")?.task_id]);
    expect(byCode.get("BE-13")?.depends_on).toEqual([byCode.get("BE-06")?.task_id]);
    expect(byCode.get("BE-01")?.depends_on).toEqual([byCode.get("BE-00")?.task_id]);
  });

  it("makes exactly the tasks whose dependencies are done ready", async () => {
    const user = await createUser();
    await seedRoadmap(fetcher, user.token);
    const ready = async () =>
      (
        await callJson<Task[]>("/api/v1/tasks?is_meta_task=true&ready=true&limit=100", 200, {
          token: user.token,
        })
      )
        .map((t) => t.title.slice(0, 5))
        .sort();
    expect(await ready()).toEqual(["BE-00"]);
    const [be00] = await callJson<Task[]>("/api/v1/tasks?q=BE-00", 200, { token: user.token });
    if (!be00) throw new Error("no BE-00 task");
    await completeTask(user, be00.task_id);
    const expected = ROADMAP.filter((i) => i.depends_on.length === 1 && i.depends_on[0] === "BE-00").map(
      (i) => i.code,
    );
    expect(await ready()).toEqual(expected.sort());
  });
});
