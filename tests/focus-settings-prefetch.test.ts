import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FocusTimer } from "../durable-objects/focus-timer";
import type { FocusSettingsDto } from "../src/features/focus/schemas";
import { callJson, type TestUser } from "./helpers/api";
import { openSocket, startFocus, timerOf, userWithApiToken } from "./helpers/focus";
import { createRoom } from "./helpers/rooms";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Stores settings in D1 the way an earlier version of the timer left them (before they lived in it). */
async function settingsInD1(user: TestUser, workMinutes: number): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO focus_settings (user_id, pomodoro_work_minutes, updated_at) VALUES (?, ?, ?)",
  )
    .bind(user.id, workMinutes, new Date().toISOString())
    .run();
}

/** Waits until the timer holds the user's settings (its prefetch is not awaited by the answer). */
async function settingsCached(user: TestUser): Promise<boolean> {
  await vi.waitFor(
    async () => {
      const held = await runInDurableObject(
        timerOf(user),
        (_instance: FocusTimer, state) =>
          state.storage.sql.exec("SELECT 1 FROM meta WHERE key = 'settings'").toArray().length > 0,
      );
      if (!held) throw new Error("the timer holds no settings yet");
    },
    { timeout: 5000, interval: 10 },
  );
  return true;
}

/** The SQL the Worker and its objects send to D1 while `work` runs. */
async function d1Statements(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const prepare = env.DB.prepare.bind(env.DB);
  const spy = vi.spyOn(env.DB, "prepare").mockImplementation((sql: string) => {
    seen.push(sql);
    return prepare(sql);
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

/** Starts a pomodoro, noting the SQL sent to D1 meanwhile; answers its planned minutes and that SQL. */
async function startNoting(user: TestUser): Promise<{ minutes: number | null; statements: string[] }> {
  let minutes: number | null = null;
  const statements = await d1Statements(async () => {
    const started = await startFocus(user, { kind: "pomodoro" });
    minutes = started.session?.planned_minutes ?? null;
  });
  return { minutes, statements };
}

const settingsReads = (statements: readonly string[]) =>
  statements.filter((sql) => sql.includes("focus_settings"));

describe("focus settings are read ahead of the first start", () => {
  it("being linked to a room (creating one) reads them into the timer: the start after it reads none from D1", async () => {
    const user = await userWithApiToken();
    await settingsInD1(user, 40);
    await createRoom(user);
    expect(await settingsCached(user)).toBe(true);
    const { minutes, statements } = await startNoting(user);
    expect(settingsReads(statements)).toEqual([]);
    // What D1 held, not the defaults: the prefetch read them.
    expect(minutes).toBe(40);
  });

  it("opening the focus socket reads them too", async () => {
    const user = await userWithApiToken();
    await settingsInD1(user, 35);
    const socket = await openSocket({ token: user.token });
    try {
      expect(await settingsCached(user)).toBe(true);
      const { minutes, statements } = await startNoting(user);
      expect(settingsReads(statements)).toEqual([]);
      expect(minutes).toBe(35);
    } finally {
      socket.close();
    }
  });

  it("two changes that wait on the same first read both hold: each builds on the other", async () => {
    const user = await userWithApiToken();
    await settingsInD1(user, 40);
    const patch = (body: Partial<FocusSettingsDto>) =>
      callJson<FocusSettingsDto>("/api/v1/focus/enhanced/settings", 200, {
        method: "PATCH",
        token: user.token,
        body,
      });
    await Promise.all([patch({ short_break_minutes: 7 }), patch({ long_break_minutes: 25 })]);
    const settings = await callJson<FocusSettingsDto>("/api/v1/focus/enhanced/settings", 200, {
      token: user.token,
    });
    expect(settings).toMatchObject({
      pomodoro_work_minutes: 40,
      short_break_minutes: 7,
      long_break_minutes: 25,
    });
  });

  it("without either, the first start reads them itself", async () => {
    const user = await userWithApiToken();
    await settingsInD1(user, 30);
    const { minutes, statements } = await startNoting(user);
    expect(settingsReads(statements)).toHaveLength(1);
    expect(minutes).toBe(30);
  });

  it("a failed prefetch costs nothing: the start reads the settings itself", async () => {
    const user = await userWithApiToken();
    await settingsInD1(user, 45);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const prepare = env.DB.prepare.bind(env.DB);
    const failing = vi.spyOn(env.DB, "prepare").mockImplementation((sql: string) => {
      if (sql.includes("focus_settings")) throw new Error("D1 is down");
      return prepare(sql);
    });
    await createRoom(user);
    await vi.waitFor(
      () =>
        expect(
          warn.mock.calls.some(([line]) => String(line).includes("focus settings prefetch failed")),
        ).toBe(true),
      { timeout: 5000 },
    );
    failing.mockRestore();
    const { minutes, statements } = await startNoting(user);
    expect(settingsReads(statements)).toHaveLength(1);
    expect(minutes).toBe(45);
  });
});
