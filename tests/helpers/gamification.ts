import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import type { Envelope, EventType } from "../../src/lib/events/catalog";
import { callJson, createUser, type TestUser } from "./api";

interface OutboxRow {
  id: string;
  type: string;
  version: number;
  user_id: string;
  data: string;
  occurred_at: string;
}

const toEnvelope = (row: OutboxRow): Envelope => ({
  id: row.id,
  type: row.type as EventType,
  version: row.version,
  user_id: row.user_id,
  occurred_at: row.occurred_at,
  data: JSON.parse(row.data) as Envelope["data"],
});

/** Every event of the user's, in order (delivered or not). */
export async function eventsOf<T extends EventType = EventType>(
  userId: string,
  type?: T,
): Promise<Envelope<T>[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, type, version, user_id, data, occurred_at FROM events WHERE user_id = ?${type ? " AND type = ?" : ""} ORDER BY id`,
  )
    .bind(...(type ? [userId, type] : [userId]))
    .all<OutboxRow>();
  return results.map(toEnvelope) as Envelope<T>[];
}

/** Runs the events queue consumer on these events, as the queue would deliver them. */
export async function deliver(events: Envelope[]) {
  const batch = createMessageBatch<Envelope>(
    "pap-events",
    events.map((body, i) => ({
      id: `m-${body.id}-${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, env);
  return getQueueResult(batch, ctx);
}

/**
 * Delivers the user's undelivered events until none are left (handlers write new ones: level.up,
 * achievement.unlocked …). The background queue may be delivering them too; both are idempotent.
 */
export async function settle(userId: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const { results } = await env.DB.prepare(
      "SELECT id, type, version, user_id, data, occurred_at FROM events WHERE user_id = ? AND delivered_at IS NULL ORDER BY id",
    )
      .bind(userId)
      .all<OutboxRow>();
    if (results.length === 0) return;
    await deliver(results.map(toEnvelope));
  }
}

export interface Profile {
  total_xp: number;
  level: number;
  next_level_xp: number | null;
  xp_to_next_level: number | null;
  week_xp: number;
  themes: { id: string }[];
  streak: { current_days: number; longest_days: number; freezes_held: number; at_risk: boolean };
  badges_unlocked: number;
  leaderboard_opt_in: boolean;
}

export const profileOf = (user: TestUser) =>
  callJson<Profile>("/api/v1/gamification/me", 200, { token: user.token });

export async function ledgerOf(user: TestUser) {
  const { results } = await env.DB.prepare(
    "SELECT source, source_key, amount FROM xp_ledger WHERE user_id = ? ORDER BY id",
  )
    .bind(user.id)
    .all<{ source: string; source_key: string; amount: number }>();
  return results;
}

/** An administrator (ADMIN_EMAILS in the test bindings) with an admin-scoped API token. */
export async function adminToken(): Promise<string> {
  let admin: TestUser;
  try {
    admin = await createUser({ email: "admin@example.com" });
  } catch {
    const login = await callJson<{ access_token: string }>("/api/v1/auth/login", 200, {
      body: { email: "admin@example.com", password: "correct horse battery" },
    });
    admin = { id: "", email: "admin@example.com", password: "", token: login.access_token, refreshToken: "" };
  }
  const { token } = await callJson<{ token: string }>("/api/v1/auth/tokens", 201, {
    token: admin.token,
    body: { name: "ops", scopes: ["admin"] },
  });
  return token;
}
