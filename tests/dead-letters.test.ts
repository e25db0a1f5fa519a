import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../src/lib/ids";
import { call } from "./helpers/api";
import { adminToken } from "./helpers/gamification";

interface Letter {
  message_id: string;
  body: unknown;
  source: string;
}

describe("GET /api/v1/admin/dead-letters", () => {
  it("pages newest first through the Link header, filtered by queue, bodies as they were kept", async () => {
    const token = await adminToken();
    const ours = ["a", "b", "c"].map((n) => `page-${n}-${crypto.randomUUID()}`);
    const now = Date.now();
    for (const [i, messageId] of ours.entries()) {
      const body = i === 1 ? "not json: kept as text" : JSON.stringify({ type: "deliver", n: i });
      await env.DB.prepare(
        "INSERT INTO dead_letters (id, source, message_id, body, attempts, user_id, recorded_at) VALUES (?, 'webhooks', ?, ?, 10, NULL, ?)",
      )
        .bind(newId(now + i), messageId, body, new Date(now).toISOString())
        .run();
    }
    const seen: Letter[] = [];
    let path: string | null = "/api/v1/admin/dead-letters?source=webhooks&limit=1";
    for (
      let page = 0;
      path && page < 20 && seen.filter((l) => ours.includes(l.message_id)).length < 3;
      page += 1
    ) {
      const res: Response = await call(path, { token });
      expect(res.status).toBe(200);
      const letters = await res.json<Letter[]>();
      expect(letters.length).toBeLessThanOrEqual(1);
      seen.push(...letters);
      path = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
      if (path) path = new URL(path, "https://api.test").pathname + new URL(path, "https://api.test").search;
    }
    const found = seen.filter((l) => ours.includes(l.message_id));
    // Newest first: the last written comes first.
    expect(found.map((l) => l.message_id)).toEqual([...ours].reverse());
    expect(found[1]?.body).toBe("not json: kept as text");
    expect(found[0]?.body).toEqual({ type: "deliver", n: 2 });
    expect(seen.every((l) => l.source === "webhooks")).toBe(true);
  });
});
