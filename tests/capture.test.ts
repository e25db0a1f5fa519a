import { env } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { CapturedTaskSchema } from "../src/features/capture/schemas";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { getTask } from "./helpers/tasks";

type Captured = z.infer<typeof CapturedTaskSchema>;

describe("capture", () => {
  it("turns one line into a task with priority, tags, estimate and a due time in the user's zone", async () => {
    const user = await createUser({ timezone: "America/New_York" });
    const task = await callJson<Captured>("/api/v1/capture", 201, {
      token: user.token,
      body: { text: "email Sam about rent tomorrow 5pm !high #home ~10m" },
    });
    expect(task).toMatchObject({
      title: "email Sam about rent",
      priority: "high",
      tags: ["home"],
      estimated_minutes: 10,
    });
    expect(task.capture.due_text).toBe("tomorrow 5pm");
    const due = new Date(task.due_at ?? "");
    const local = new Intl.DateTimeFormat("en-US", {
      timeZone: "America/New_York",
      hour: "numeric",
      hourCycle: "h23",
    }).format(due);
    expect(local).toBe("17");
    expect(due.getTime()).toBeGreaterThan(Date.now());
    const stored = await getTask(user, task.task_id);
    expect(stored.title).toBe("email Sam about rent");
  });

  it("keeps unparseable text as the title", async () => {
    const user = await createUser();
    const task = await callJson<Captured>("/api/v1/capture", 201, {
      token: user.token,
      body: { text: "asdf qwer" },
    });
    expect(task).toMatchObject({ title: "asdf qwer", priority: "medium", tags: [], due_at: null });
  });

  it("uses a time zone given with the capture over the account's", async () => {
    const user = await createUser({ timezone: "UTC" });
    const tokyo = await callJson<Captured>("/api/v1/capture", 201, {
      token: user.token,
      body: { text: "standup tomorrow 9am", timezone: "Asia/Tokyo" },
    });
    expect(new Date(tokyo.due_at ?? "").getUTCHours()).toBe(0);
  });

  it("replays a keyed capture's first answer, what was understood included, even one stored without it", async () => {
    const user = await createUser({ timezone: "Asia/Tokyo" });
    const send = (key: string) =>
      call("/api/v1/capture", {
        token: user.token,
        headers: { "idempotency-key": key },
        body: { text: "standup tomorrow 9am #work" },
      });
    const first = await send("capture-once");
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as Captured;
    const again = await send("capture-once");
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    // An answer stored before answers kept what was understood: the task alone. It is read again, in
    // the account's zone.
    const old = await send("capture-old");
    const oldBody = (await old.json()) as Captured;
    // Stored keys carry their route's id: `capture:<header>`.
    const stripped = await env.DB.prepare(
      "UPDATE idempotency_keys SET response_body = json_remove(response_body, '$.capture') WHERE user_id = ? AND key = ?",
    )
      .bind(user.id, "capture:capture-old")
      .run();
    expect(stripped.meta.changes).toBe(1);
    const replayed = await send("capture-old");
    expect(replayed.status).toBe(201);
    const replayedBody = (await replayed.json()) as Captured;
    expect(replayedBody.task_id).toBe(oldBody.task_id);
    expect(replayedBody.capture).toMatchObject({ due_text: "tomorrow 9am", tags: ["work"] });
    expect(new Date(replayedBody.due_at ?? "").getUTCHours()).toBe(0);
  });

  it("rejects empty text with 422", async () => {
    const user = await createUser();
    const res = await call("/api/v1/capture", { token: user.token, body: { text: "   " } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0]?.field).toBe("text");
  });
});
