import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuthResponseDto } from "../src/features/auth/schemas";
import { sendEntries } from "../src/features/gamification/leaderboard";
import { weekStartOf } from "../src/features/gamification/progress";
import type { LeaderboardDto, OptInDto, ProfileDto } from "../src/features/gamification/schemas";
import { BOARD_XP_PER_DAY } from "../src/features/gamification/xp";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock, nextUtc } from "./helpers/clock";
import { adminToken } from "./helpers/gamification";
import { settle } from "./helpers/outbox";

let admin: string;
beforeAll(async () => {
  admin = await adminToken();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const board = (user: TestUser, query = "") =>
  callJson<LeaderboardDto>(`/api/v1/gamification/enhanced/leaderboard${query}`, 200, { token: user.token });

async function grant(user: TestUser, amount: number, key: string) {
  await callJson("/api/v1/gamification/enhanced/xp/grant", 202, {
    token: admin,
    body: { user_id: user.id, amount, reason: "test", key },
  });
  await settle(user.id);
}

async function optIn(user: TestUser, name: string) {
  return callJson<OptInDto>("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
    method: "PUT",
    token: user.token,
    body: { opt_in: true, display_name: name },
  });
}

/** A league of its own: boards are global, so names carry a run id and counts are relative. */
const run = crypto.randomUUID().slice(0, 6);

describe("the leaderboards", () => {
  it("rank only the users who opted in, by XP, after many updates in any order", async () => {
    const players = await Promise.all(Array.from({ length: 8 }, () => createUser()));
    const lurker = await createUser();
    for (const [i, p] of players.entries()) await optIn(p, `p${i}-${run}`);
    // Several grants each, interleaved; the final totals decide.
    const amounts = [120, 45, 300, 80, 300, 15, 210, 95];
    for (let round = 0; round < 3; round++) {
      await Promise.all(players.map((p, i) => grant(p, (amounts[i] ?? 0) + round, `r${round}`)));
    }
    // The lurker never opts in, though it chose a board name and earns the most.
    await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
      method: "PUT",
      token: lurker.token,
      body: { opt_in: false, display_name: `lurker-${run}` },
    });
    await grant(lurker, 999, "big");
    const totals = amounts.map((amount, i) => ({ name: `p${i}-${run}`, xp: 3 * amount + 3 }));
    const expected = [...totals].sort((a, b) => b.xp - a.xp);
    const view = await board(players[0] as TestUser, "?board=all_time&limit=100");
    const ours = view.entries.filter((e) => e.name.endsWith(run));
    expect(ours.map((e) => e.xp)).toEqual(expected.map((e) => e.xp));
    // Ranks are consecutive and ties are broken the same way every time.
    const again = await board(players[0] as TestUser, "?board=all_time&limit=100");
    expect(again.entries).toEqual(view.entries);
    expect(view.entries.map((e) => e.rank)).toEqual(view.entries.map((_, i) => i + 1));
    expect(view.entries.map((e) => e.name)).not.toContain(`lurker-${run}`);
    expect(view.entries.some((e) => e.xp === 999)).toBe(false);
    const lurkerView = await board(lurker, "?board=all_time");
    expect(lurkerView).toMatchObject({ opted_in: false, me: null });
  });

  it("answers my rank with my neighbours either side", async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => createUser()));
    for (const [i, u] of users.entries()) {
      await optIn(u, `n${i}-${run}`);
      // Under the boards' daily cap, and apart from every other score in this file.
      await grant(u, 911 + i * 13, "n");
    }
    const middle = users[2] as TestUser;
    const view = await board(middle, "?board=all_time&limit=3&around=1");
    expect(view.me?.xp).toBe(937);
    expect(view.me?.above.map((e) => e.name)).toEqual([`n3-${run}`]);
    expect(view.me?.below.map((e) => e.name)).toEqual([`n1-${run}`]);
    expect(view.me?.above[0]?.rank).toBe((view.me?.rank ?? 0) - 1);
    expect(view.me?.below[0]?.rank).toBe((view.me?.rank ?? 0) + 1);
    const top = view.entries.map((e) => e.name);
    expect(top).toContain(`n4-${run}`);
    expect(view.entries.find((e) => e.name === `n4-${run}`)?.is_me).toBe(false);
  });

  it("counts the weekly board from Monday 00:00 UTC, and drops last week's XP from it", async () => {
    const user = await createUser();
    await optIn(user, `w-${run}`);
    await grant(user, 77, "this-week");
    const weekly = await board(user, "?board=weekly&limit=100");
    expect(weekly.week_starts_on).toBe(weekStartOf(Date.now()));
    expect(weekly.me?.xp).toBe(77);
    const reader = await createApiToken(user.token, { name: "later", scopes: ["gamification:read"] });
    freezeClock(Date.now() + 7 * 86_400_000);
    const nextWeek = await callJson<LeaderboardDto>(
      "/api/v1/gamification/enhanced/leaderboard?board=weekly&limit=100",
      200,
      {
        token: reader.token,
      },
    );
    expect(nextWeek.me).toBeNull();
    expect(nextWeek.entries.some((e) => e.name === `w-${run}`)).toBe(false);
  });

  it("counts at most 1,000 XP a day on the boards, while the user's own total keeps everything", async () => {
    // Every grant lands on one UTC day, then one on the day after: the frozen clock says which.
    const clock = freezeClock(nextUtc("12:00"));
    const user = await createUser();
    const { token } = await createApiToken(user.token, {
      name: "board reader",
      scopes: ["gamification:read"],
    });
    const reader = { ...user, token };
    await optIn(user, `farm-${run}`);
    await grant(user, 700, "first");
    await grant(user, 700, "second");
    await grant(user, 50, "third");
    expect((await board(reader, "?board=all_time&limit=100")).me?.xp).toBe(BOARD_XP_PER_DAY);
    const profile = await callJson<ProfileDto>("/api/v1/gamification/me", 200, { token });
    expect(profile.total_xp).toBe(1450);
    // A new day brings new room.
    clock.tick(24 * 3_600_000);
    await grant(user, 700, "tomorrow");
    expect((await board(reader, "?board=all_time&limit=100")).me?.xp).toBe(BOARD_XP_PER_DAY + 700);
  });

  it("takes a user off at once when they opt out, and a late update does not bring them back", async () => {
    const user = await createUser();
    await optIn(user, `gone-${run}`);
    await grant(user, 50, "before");
    expect((await board(user, "?board=all_time&limit=100")).me).not.toBeNull();
    const stale = await env.DB.prepare("SELECT * FROM user_progress WHERE user_id = ?").bind(user.id).first<{
      total_xp: number;
      week_start: string;
      week_xp: number;
      version: number;
    }>();
    await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
      method: "PUT",
      token: user.token,
      body: { opt_in: false },
    });
    // An update written before the opt-out arrives after it.
    await sendEntries(env, [
      {
        user_id: user.id,
        name: `gone-${run}`,
        total_xp: stale?.total_xp ?? 0,
        week_start: stale?.week_start ?? "",
        week_xp: stale?.week_xp ?? 0,
        version: stale?.version ?? 0,
        hidden: false,
      },
    ]);
    const view = await board(user, "?board=all_time&limit=100");
    expect(view).toMatchObject({ opted_in: false, me: null });
    expect(view.entries.some((e) => e.name === `gone-${run}`)).toBe(false);
  });

  it("never leaves an opted-out user on the board when the board cannot be reached: an error, then the retry hides them", async () => {
    const user = await createUser();
    await optIn(user, `shy-${run}`);
    await grant(user, 20, "shy");
    const listed = (view: LeaderboardDto) => view.entries.some((e) => e.name === `shy-${run}`);
    expect(listed(await board(user, "?board=all_time&limit=100"))).toBe(true);
    // The user's shard fails once.
    const get = env.LEADERBOARD.get.bind(env.LEADERBOARD);
    vi.spyOn(env.LEADERBOARD, "get").mockImplementationOnce((id) => {
      const stub = get(id);
      return new Proxy(stub, {
        get: (target, prop) =>
          prop === "upsert"
            ? () => Promise.reject(new Error("shard unreachable"))
            : Reflect.get(target, prop),
      });
    });
    const leave = () =>
      call("/api/v1/gamification/enhanced/leaderboard/opt-in", {
        method: "PUT",
        token: user.token,
        body: { opt_in: false },
      });
    const failed = await leave();
    expect(failed.status).toBe(503);
    expect((await problemOf(failed)).detail).toMatch(/try again/);
    // Nothing was half done: still opted in and still listed, as the setting says.
    const during = await board(user, "?board=all_time&limit=100");
    expect(during.opted_in).toBe(true);
    expect(listed(during)).toBe(true);
    const retried = await leave();
    expect(retried.status).toBe(200);
    await retried.text();
    const after = await board(user, "?board=all_time&limit=100");
    expect(after).toMatchObject({ opted_in: false, me: null });
    expect(listed(after)).toBe(false);
  });

  it("applies the same update twice as once, and an older one not at all", async () => {
    const user = await createUser();
    await optIn(user, `twice-${run}`);
    await grant(user, 33, "once");
    const row = await env.DB.prepare(
      "SELECT total_xp, week_start, week_xp, version FROM user_progress WHERE user_id = ?",
    )
      .bind(user.id)
      .first<{ total_xp: number; week_start: string; week_xp: number; version: number }>();
    if (!row) throw new Error("no progress");
    const entry = { user_id: user.id, name: `twice-${run}`, ...row, hidden: false };
    const before = await board(user, "?board=all_time&limit=100");
    await sendEntries(env, [entry]);
    await sendEntries(env, [entry]);
    expect(await board(user, "?board=all_time&limit=100")).toEqual(before);
    await sendEntries(env, [{ ...entry, total_xp: 9999, version: row.version - 1 }]);
    expect((await board(user, "?board=all_time&limit=100")).me?.xp).toBe(33);
    // A newer one does move the user.
    await sendEntries(env, [{ ...entry, total_xp: 40, version: row.version + 1 }]);
    expect((await board(user, "?board=all_time&limit=100")).me?.xp).toBe(40);
  });

  it("refuses bad queries with 422", async () => {
    const user = await createUser();
    for (const q of ["?board=daily", "?limit=0", "?limit=101", "?around=11"]) {
      const res = await call(`/api/v1/gamification/enhanced/leaderboard${q}`, { token: user.token });
      expect(res.status, q).toBe(422);
      await res.text();
    }
  });

  it("reports each shard's size and its own operation timings to admins", async () => {
    const metrics = await callJson<
      { shard: number; entries: number; operations: Record<string, { count: number; p99_ms: number }> }[]
    >("/api/v1/gamification/enhanced/leaderboard/metrics", 200, { token: admin });
    expect(metrics.map((m) => m.shard)).toEqual([0, 1, 2, 3]);
    expect(metrics.reduce((n, m) => n + m.entries, 0)).toBeGreaterThan(0);
    const operations = new Set(metrics.flatMap((m) => Object.keys(m.operations)));
    expect([...operations]).toEqual(expect.arrayContaining(["upsert", "top:all_time", "around:all_time"]));
  });

  it("rebuilds the boards from D1, repairing a score that went wrong", async () => {
    const user = await createUser();
    await optIn(user, `rebuilt-${run}`);
    await grant(user, 64, "rebuild");
    // A shard holds a score D1 never had (with a version from the future, so no update fixes it).
    await sendEntries(env, [
      {
        user_id: user.id,
        name: `rebuilt-${run}`,
        total_xp: 99_999,
        week_start: "",
        week_xp: 0,
        version: 1e9,
        hidden: false,
      },
    ]);
    expect((await board(user, "?board=all_time&limit=100")).me?.xp).toBe(99_999);
    const res = await callJson<{ users: number }>("/api/v1/gamification/enhanced/leaderboard/rebuild", 200, {
      method: "POST",
      token: admin,
    });
    expect(res.users).toBeGreaterThan(0);
    const after = await board(user, "?board=all_time&limit=100");
    expect(after.me?.xp).toBe(64);
    // Every opted-in user is back, with what D1 counts for the boards.
    const { results } = await env.DB.prepare(
      "SELECT leaderboard_name AS name, board_xp AS xp FROM user_progress WHERE leaderboard_opt_in = 1 ORDER BY board_xp DESC, user_id",
    ).all<{ name: string; xp: number }>();
    expect(after.entries.map((e) => [e.name, e.xp])).toEqual(
      results.slice(0, 100).map((r) => [r.name, r.xp]),
    );
  });
});

describe("leaderboard names", () => {
  const choose = (user: TestUser, display_name: string) =>
    call("/api/v1/gamification/enhanced/leaderboard/opt-in", {
      method: "PUT",
      token: user.token,
      body: { opt_in: true, display_name },
    });

  async function refusal(display_name: string) {
    const res = await choose(await createUser(), display_name);
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.[0]?.field).toBe("display_name");
    return problem.detail;
  }

  it("are NFKC-normalised: full-width letters and ligatures become plain ones, on the board too", async () => {
    const user = await createUser();
    const saved = await optIn(user, `\uff26\uff4f\uff58 \ufb01${run}`);
    expect(saved.display_name).toBe(`Fox fi${run}`);
    await grant(user, 5, "nfkc");
    const view = await board(user, "?board=all_time&limit=100");
    expect(view.entries.find((e) => e.is_me)?.name).toBe(`Fox fi${run}`);
  });

  it("lose bidirectional controls, which could make a name read backwards", async () => {
    const saved = await optIn(await createUser(), "a\u202Eb\u202Ac\u2066d\u2069e\u200Ef\u200Fg\u061Ch");
    expect(saved.display_name).toBe("abcdefgh");
  });

  it("lose zero-width characters, which could make two names look the same", async () => {
    const saved = await optIn(await createUser(), "\u200Bz\u200Ce\u200Dr\u2060o\uFEFF");
    expect(saved.display_name).toBe("zero");
  });

  it("are trimmed", async () => {
    const saved = await optIn(await createUser(), "   Sunny day \t");
    expect(saved.display_name).toBe("Sunny day");
  });

  it("refuse markup with 422 rather than change it silently, full-width brackets included", async () => {
    expect(await refusal("<b>Boss</b>")).toMatch(/< or >/);
    expect(await refusal("\uff1cscript\uff1e")).toMatch(/< or >/);
  });

  it("hold 1 to 32 characters once normalised: 32 letters and invisible extras pass, 33 letters do not", async () => {
    const saved = await optIn(await createUser(), `${"x".repeat(32)}\u200B\u200B`);
    expect(saved.display_name).toBe("x".repeat(32));
    expect(await refusal("y".repeat(33))).toMatch(/32 characters/);
  });

  it("refuse with 422 a name with nothing visible left", async () => {
    expect(await refusal("\u200B \u202E \uFEFF")).toMatch(/nothing visible/);
    expect(await refusal("   ")).toMatch(/nothing visible/);
  });

  it("apply to the account's display name too, when no name was chosen for the boards", async () => {
    const registered = await callJson<AuthResponseDto>("/api/v1/auth/register", 201, {
      body: {
        email: `bidi-${crypto.randomUUID().slice(0, 8)}@example.com`,
        password: "correct horse battery",
        display_name: `\u202EMallory${run}`,
      },
    });
    const user = {
      id: registered.user.id,
      email: "",
      password: "",
      token: registered.access_token,
      refreshToken: "",
    };
    await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
      method: "PUT",
      token: user.token,
      body: { opt_in: true },
    });
    await grant(user, 5, "fallback");
    const view = await board(user, "?board=all_time&limit=100");
    expect(view.entries.find((e) => e.is_me)?.name).toBe(`Mallory${run}`);
  });
});
