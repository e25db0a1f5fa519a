import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { challengesFor, type DailyChallenge } from "../src/features/gamification/challenges";
import { LEVEL_THRESHOLDS } from "../src/features/gamification/levels";
import { weekStartOf } from "../src/features/gamification/progress";
import { finishedWork } from "../src/features/gamification/work";
import type { DomainEvent } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";
import { createUser } from "./helpers/api";
import { freezeClock, localDateOf, nextUtc } from "./helpers/clock";
import { deliver, eventsOf } from "./helpers/outbox";

const DAY_MS = 86_400_000;

/** A step, task or focus session of `user`'s at `at` that advances `challenge` by one. */
function workFor(challenge: DailyChallenge, user: string, at: number, n: number): DomainEvent {
  const id = `${n}-${crypto.randomUUID()}`;
  if (challenge.metric === "steps")
    return newEvent(
      "step.completed",
      user,
      {
        task_id: "t",
        step_id: id,
        description: "A step",
        estimated_minutes: 3,
        leaf_type: "HUMAN",
        task_priority: "medium",
        task_estimated_minutes: null,
      },
      at,
    );
  if (challenge.metric === "tasks")
    return newEvent(
      "task.completed",
      user,
      {
        task_id: id,
        title: "A task",
        priority: "medium",
        estimated_minutes: 20,
        actual_minutes: null,
        is_meta_task: false,
        created_at: new Date(at - 3 * DAY_MS).toISOString(),
        completed_steps: 0,
      },
      at,
    );
  return newEvent(
    "focus.completed",
    user,
    {
      session_id: id,
      kind: "pomodoro",
      planned_minutes: 25,
      task_id: null,
      step_id: null,
      actual_minutes: 25,
      completed: true,
      end_reason: "time_up",
      interruptions: 0,
      started_at: new Date(at - 25 * 60_000).toISOString(),
      ended_at: new Date(at).toISOString(),
    },
    at,
  );
}

describe("levels in a delivery with an open challenge", () => {
  it("writes the level.up when the real total crosses, though the open challenge's XP is not yet paid", async () => {
    // A day (within the clock's reach) whose challenges include one that two pieces of work cannot finish.
    const days = Array.from({ length: 8 }, (_, d) => nextUtc("12:00") + d * DAY_MS);
    const day = days
      .map((at) => ({
        at,
        challenge: challengesFor(localDateOf(at)).find(
          (c) => ["steps", "tasks", "focus_sessions"].includes(c.metric) && c.target >= 3,
        ),
      }))
      .find((d) => d.challenge);
    const challenge = day?.challenge;
    if (!day || !challenge) throw new Error("no day in reach has a challenge of target 3 or more");
    freezeClock(day.at);
    const user = await createUser({ timezone: "UTC" });
    const first = workFor(challenge, user.id, day.at, 1);
    const second = workFor(challenge, user.id, day.at, 2);
    const xp = finishedWork(first)?.xp.total ?? 0;
    const levelTwo = LEVEL_THRESHOLDS[1] ?? 0;
    // After the first piece the total is one short of level 2; the second crosses it.
    await env.DB.prepare(
      `INSERT INTO user_progress (user_id, total_xp, level, week_start, week_xp, version, leaderboard_opt_in, updated_at)
       VALUES (?, ?, 1, ?, 0, 1, 0, ?)`,
    )
      .bind(user.id, levelTwo - xp - 1, weekStartOf(day.at), new Date(day.at).toISOString())
      .run();
    await deliver([first, second]);
    const ups = await eventsOf(user.id, "level.up");
    expect(ups.map((e) => e.data)).toEqual([{ level: 2, previous_level: 1, total_xp: levelTwo - 1 + xp }]);
    const row = await env.DB.prepare("SELECT level FROM user_progress WHERE user_id = ?")
      .bind(user.id)
      .first();
    expect(row).toEqual({ level: 2 });
  });
});
