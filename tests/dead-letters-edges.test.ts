import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker, { QUEUE_NAMES } from "../src/index";
import { call, createUser, problemOf } from "./helpers/api";
import { adminToken } from "./helpers/gamification";

interface Letter {
  dead_letter_id: string;
  source: string;
  message_id: string;
  body: unknown;
  attempts: number;
  user_id: string | null;
  recorded_at: string;
}

const LIST = "/api/v1/admin/dead-letters";

/** Hands these bodies to the dead-letter queue's consumer, in order, as one delivery; answers their ids. */
async function giveUpOn(bodies: unknown[], attempts: number): Promise<string[]> {
  const ids = bodies.map((_, i) => `edge-${i}-${crypto.randomUUID()}`);
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.deadLetters,
    bodies.map((body, i) => ({ id: ids[i] ?? "", timestamp: new Date(), attempts, body })),
  );
  await worker.queue(batch, env);
  return ids;
}

/** Follows the Link header from `path` until every one of `wanted` is seen (or the list ends). */
async function letters(token: string, path: string, wanted: readonly string[]): Promise<Letter[]> {
  const seen: Letter[] = [];
  let next: string | null = path;
  for (let page = 0; next && page < 20; page += 1) {
    const res: Response = await call(next, { token });
    expect(res.status).toBe(200);
    seen.push(...(await res.json<Letter[]>()));
    if (wanted.every((id) => seen.some((l) => l.message_id === id))) break;
    const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    next = link
      ? new URL(link, "https://api.test").pathname + new URL(link, "https://api.test").search
      : null;
  }
  return seen;
}

describe("GET /api/v1/admin/dead-letters, unfiltered", () => {
  it("lists what every queue gave up on, newest first, each with the queue its body tells of", async () => {
    const token = await adminToken();
    const user = await createUser();
    const bodies = [
      {
        id: crypto.randomUUID(),
        type: "task.created",
        version: 1,
        user_id: user.id,
        occurred_at: new Date().toISOString(),
        data: { task_id: "t-1" },
      },
      { type: "notify", user_id: user.id, title: "Time to stretch" },
      { delivery_id: `d-${crypto.randomUUID()}`, webhook_id: "w-1" },
      { type: "import.run", user_id: user.id, import_id: "i-1" },
      "not even an object",
    ];
    const ids = await giveUpOn(bodies, 7);
    const seen = await letters(token, `${LIST}?limit=100`, ids);
    const ours = seen.filter((l) => ids.includes(l.message_id));
    // One list holds every queue's letters: the last recorded comes first.
    expect(ours.map((l) => [l.message_id, l.source])).toEqual(
      [
        [ids[0], "events"],
        [ids[1], "notifications"],
        [ids[2], "webhooks"],
        [ids[3], "imports"],
        [ids[4], "unknown"],
      ].reverse(),
    );
    expect(ours.map((l) => l.body)).toEqual([...bodies].reverse());
    expect(ours.map((l) => l.user_id)).toEqual([null, user.id, null, user.id, user.id]);
    expect(ours.every((l) => l.attempts === 7)).toBe(true);
    // The whole list, not only ours, is newest first.
    const order = seen.map((l) => l.dead_letter_id);
    expect(order).toEqual([...order].sort().reverse());
  });
});

describe("GET /api/v1/admin/dead-letters, refusals and filters", () => {
  it("is for administrators only, names a bad queue or cursor as problem+json, and takes the queue in any case", async () => {
    const user = await createUser();
    const anonymous = await call(LIST);
    expect(anonymous.status).toBe(401);
    expect((await problemOf(anonymous)).code).toBe("unauthorized");
    const notAdmin = await call(LIST, { token: user.token });
    expect(notAdmin.status).toBe(403);
    expect((await problemOf(notAdmin)).code).toBe("forbidden");

    const token = await adminToken();
    const badQueue = await call(`${LIST}?source=smtp`, { token });
    expect(badQueue.status).toBe(422);
    expect((await problemOf(badQueue)).code).toBe("validation_failed");
    const badCursor = await call(`${LIST}?cursor=not-one-of-ours`, { token });
    expect(badCursor.status).toBe(400);
    expect((await problemOf(badCursor)).code).toBe("invalid_cursor");

    const [pushId = ""] = await giveUpOn([{ type: "push", user_id: user.id }], 3);
    const [hookId = ""] = await giveUpOn([{ delivery_id: `d-${crypto.randomUUID()}` }], 3);
    const pushes = await letters(token, `${LIST}?source=NotiFications&limit=100`, [pushId]);
    expect(pushes.map((l) => l.message_id)).toContain(pushId);
    expect(pushes.map((l) => l.message_id)).not.toContain(hookId);
    expect(pushes.every((l) => l.source === "notifications")).toBe(true);
  });
});
