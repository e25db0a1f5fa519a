/**
 * Where a user's pushes go: browsers' Web Push subscriptions and the mobile app's Expo tokens. An
 * endpoint or token belongs to one account at a time — the last to register it (a shared device,
 * a new sign-in) — so nobody receives another person's notifications.
 */
import { and, count, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { pushDevices, pushSubscriptions } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { validateSubscriptionKeys } from "../../lib/push/aes128gcm";
import { isExpoPushToken } from "../../lib/push/expo";
import { isPushEndpoint } from "../../lib/push/web-push";
import { nowIso } from "../../lib/time";
import { isAllowedPushHost, pushConfig } from "./push-config";

/** Browsers and devices per account: plenty for a person, a wall against abuse. */
export const MAX_PUSH_TARGETS = 20;

export interface SubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

async function ensureRoom(
  db: Database,
  userId: string,
  table: typeof pushSubscriptions | typeof pushDevices,
) {
  const row = await db.select({ n: count() }).from(table).where(eq(table.userId, userId)).get();
  if ((row?.n ?? 0) >= MAX_PUSH_TARGETS) {
    throw new ApiError(
      409,
      "too_many_push_targets",
      `An account may have at most ${MAX_PUSH_TARGETS}; remove an old one first.`,
    );
  }
}

export async function vapidPublicKey(env: Env): Promise<string> {
  const config = await pushConfig(env);
  if (!config.vapidPublicKey) {
    throw new ApiError(503, "push_not_configured", "Web Push is not configured on this server.", {
      headers: { "Retry-After": "3600" },
    });
  }
  return config.vapidPublicKey;
}

export async function subscribe(
  db: Database,
  env: Env,
  userId: string,
  input: SubscriptionInput,
  userAgent: string | null,
) {
  const config = await pushConfig(env);
  if (!isPushEndpoint(input.endpoint) || !isAllowedPushHost(input.endpoint, config.pushHosts)) {
    throw validationFailed([
      {
        field: "endpoint",
        message: "Must be the https URL of a browser's push service (FCM, Mozilla, Apple, Windows).",
      },
    ]);
  }
  const keys = await validateSubscriptionKeys(input.keys);
  if (!keys.ok) throw validationFailed([{ field: keys.field, message: keys.detail }]);
  await vapidPublicKey(env);
  const existing = await db
    .select({ userId: pushSubscriptions.userId })
    .from(pushSubscriptions)
    .where(eq(pushSubscriptions.endpoint, input.endpoint))
    .get();
  if (existing?.userId !== userId) await ensureRoom(db, userId, pushSubscriptions);
  const now = nowIso();
  const [row] = await db
    .insert(pushSubscriptions)
    .values({
      id: newId(),
      userId,
      endpoint: input.endpoint,
      p256dh: input.keys.p256dh,
      auth: input.keys.auth,
      userAgent: userAgent?.slice(0, 300) ?? null,
      createdAt: now,
    })
    .onConflictDoUpdate({
      target: pushSubscriptions.endpoint,
      set: {
        // An endpoint that moves to another account becomes a new target (new id): pushes still
        // pending for its previous owner can never reach the new one.
        id: sql`CASE WHEN ${pushSubscriptions.userId} = ${userId} THEN ${pushSubscriptions.id} ELSE excluded.id END`,
        createdAt: sql`CASE WHEN ${pushSubscriptions.userId} = ${userId} THEN ${pushSubscriptions.createdAt} ELSE excluded.created_at END`,
        userId,
        p256dh: input.keys.p256dh,
        auth: input.keys.auth,
        userAgent: userAgent?.slice(0, 300) ?? null,
      },
    })
    .returning();
  if (!row) throw new Error("subscription upsert returned nothing");
  return {
    // New to this account (even when the endpoint moved here from another): 201.
    created: existing?.userId !== userId,
    subscription: { subscription_id: row.id, endpoint: row.endpoint, created_at: row.createdAt },
  };
}

export async function unsubscribe(db: Database, userId: string, endpoint: string): Promise<void> {
  const rows = await db
    .delete(pushSubscriptions)
    .where(and(eq(pushSubscriptions.userId, userId), eq(pushSubscriptions.endpoint, endpoint)))
    .returning({ id: pushSubscriptions.id });
  if (rows.length === 0) throw notFound("Push subscription");
}

export async function registerDevice(
  db: Database,
  userId: string,
  input: { expo_push_token: string; platform: "ios" | "android" | "web" },
) {
  if (!isExpoPushToken(input.expo_push_token)) {
    throw validationFailed([
      { field: "expo_push_token", message: 'Must be an Expo push token, "ExponentPushToken[…]".' },
    ]);
  }
  const existing = await db
    .select({ userId: pushDevices.userId })
    .from(pushDevices)
    .where(eq(pushDevices.expoPushToken, input.expo_push_token))
    .get();
  if (existing?.userId !== userId) await ensureRoom(db, userId, pushDevices);
  const [row] = await db
    .insert(pushDevices)
    .values({
      id: newId(),
      userId,
      expoPushToken: input.expo_push_token,
      platform: input.platform,
      createdAt: nowIso(),
    })
    .onConflictDoUpdate({
      target: pushDevices.expoPushToken,
      set: {
        // As for subscriptions: a token that moves to another account becomes a new target.
        id: sql`CASE WHEN ${pushDevices.userId} = ${userId} THEN ${pushDevices.id} ELSE excluded.id END`,
        createdAt: sql`CASE WHEN ${pushDevices.userId} = ${userId} THEN ${pushDevices.createdAt} ELSE excluded.created_at END`,
        userId,
        platform: input.platform,
      },
    })
    .returning();
  if (!row) throw new Error("device upsert returned nothing");
  return {
    created: existing?.userId !== userId,
    device: {
      device_id: row.id,
      expo_push_token: row.expoPushToken,
      platform: row.platform,
      created_at: row.createdAt,
    },
  };
}

export async function listDevices(db: Database, userId: string) {
  const rows = await db.select().from(pushDevices).where(eq(pushDevices.userId, userId)).all();
  return rows.map((row) => ({
    device_id: row.id,
    expo_push_token: row.expoPushToken,
    platform: row.platform,
    created_at: row.createdAt,
  }));
}

export async function removeDevice(db: Database, userId: string, deviceId: string): Promise<void> {
  const rows = await db
    .delete(pushDevices)
    .where(and(eq(pushDevices.userId, userId), eq(pushDevices.id, deviceId)))
    .returning({ id: pushDevices.id });
  if (rows.length === 0) throw notFound("Device");
}
