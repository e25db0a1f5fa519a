import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { PublicProfileDto } from "../src/features/social/schemas";
import { newId } from "../src/lib/ids";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { backdated } from "./helpers/clock";
import { tripsFor } from "./helpers/counting-d1";
import { settle } from "./helpers/outbox";
import { adoptPet } from "./helpers/pets";
import { decodePng } from "./helpers/png";
import { bytesOf, metaOf, putProfile, type SocialProfile } from "./helpers/social";
import { completeStep, createTask, type Task } from "./helpers/tasks";

/** Public profiles: off by default, handle rules, and a showcase that shows exactly what was chosen. */

const DAY_MS = 86_400_000;

const uniqueHandle = (prefix = "h") => `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;

const putRaw = (user: TestUser, body: unknown) =>
  call("/api/v1/social/profile", { method: "PUT", token: user.token, body });

const publicJson = (handle: string) => call(`/api/v1/social/profiles/${handle}`);

/** The three public answers for a handle: JSON, page and card. */
async function publicStatuses(handle: string) {
  const [json, page, card] = await Promise.all([
    publicJson(handle),
    call(`/u/${handle}`),
    call(`/u/${handle}.png`),
  ]);
  await Promise.all([json.body?.cancel(), page.body?.cancel(), card.body?.cancel()]);
  return [json.status, page.status, card.status];
}

describe("a public profile", () => {
  it("is off by default: no handle, not public, and /u answers 404", async () => {
    const user = await createUser();
    expect(await callJson<SocialProfile>("/api/v1/social/profile", 200, { token: user.token })).toEqual({
      handle: null,
      public: false,
      showcase: [],
      url: null,
      created_at: null,
      updated_at: null,
    });
    const handle = uniqueHandle();
    const saved = await putProfile(user, { handle, showcase: [{ kind: "level" }] });
    expect(saved).toMatchObject({ handle, public: false, url: `${env.API_BASE_URL}/u/${handle}` });
    expect(await publicStatuses(handle)).toEqual([404, 404, 404]);
    const page = await call(`/u/${handle}`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("No profile here");
    expect(await problemOf(await publicJson(handle))).toMatchObject({ code: "not_found" });
  });

  it("answers once public, in any case, and 404 again at once when hidden", async () => {
    const user = await createUser();
    const handle = uniqueHandle("Mixed");
    await putProfile(user, { handle, public: true, showcase: [{ kind: "level" }] });
    expect(await publicStatuses(handle)).toEqual([200, 200, 200]);
    expect(await publicStatuses(handle.toUpperCase())).toEqual([200, 200, 200]);
    expect(
      (await callJson<PublicProfileDto>(`/api/v1/social/profiles/${handle.toLowerCase()}`, 200)).handle,
    ).toBe(handle);
    await putProfile(user, { handle, public: false, showcase: [{ kind: "level" }] });
    expect(await publicStatuses(handle)).toEqual([404, 404, 404]);
  });

  it("moves with its handle: the old one answers 404, and stays its owner's for 30 days", async () => {
    const user = await createUser();
    const [old, next] = [uniqueHandle(), uniqueHandle()];
    await putProfile(user, { handle: old, public: true });
    await putProfile(user, { handle: next, public: true });
    expect((await publicJson(old)).status).toBe(404);
    expect((await publicJson(next)).status).toBe(200);
    const stored = await env.DB.prepare(
      "SELECT released_handle_key, released_at FROM social_profiles WHERE user_id = ?",
    )
      .bind(user.id)
      .first<{ released_handle_key: string; released_at: string }>();
    expect(stored?.released_handle_key).toBe(old.toLowerCase());
    // Nobody else may pass for them with the old links yet, in any case: the same 409 as a held handle.
    const other = await createUser();
    const refused = await putRaw(other, { handle: old.toUpperCase() });
    expect(refused.status).toBe(409);
    expect(await problemOf(refused)).toMatchObject({
      code: "handle_taken",
      detail: `The handle "${old.toUpperCase()}" is taken; pick another.`,
    });
    // Its owner may take it back; then the other one is kept for them in turn.
    expect((await putProfile(user, { handle: old, public: true })).handle).toBe(old);
    expect((await putRaw(other, { handle: next })).status).toBe(409);
  });

  it("is free for anyone 30 days after its owner let go of it", async () => {
    const [user, other] = [await createUser(), await createUser()];
    const [old, next] = [uniqueHandle(), uniqueHandle()];
    await backdated(32 * DAY_MS, () => putProfile(user, { handle: old, public: true }));
    await backdated(31 * DAY_MS, () => putProfile(user, { handle: next, public: true }));
    expect((await putProfile(other, { handle: old })).handle).toBe(old);
    // A handle let go of 29 days ago is still kept.
    const [third, fourth] = [uniqueHandle(), uniqueHandle()];
    await backdated(30 * DAY_MS, () => putProfile(user, { handle: third, public: true }));
    await backdated(29 * DAY_MS, () => putProfile(user, { handle: fourth, public: true }));
    expect((await putRaw(other, { handle: third })).status).toBe(409);
  });
});

describe("handles", () => {
  it("are 3–30 letters, digits or underscores (422 naming the field)", async () => {
    const user = await createUser();
    for (const handle of ["ab", "x".repeat(31), "has space", "dash-ed", "émile", "", "a.b"]) {
      const res = await putRaw(user, { handle });
      expect(res.status, handle).toBe(422);
      expect(
        (await problemOf(res)).errors?.map((e) => e.field),
        handle,
      ).toEqual(["handle"]);
    }
    expect((await putProfile(user, { handle: `ok_${"9".repeat(27)}` })).handle).toHaveLength(30);
  });

  it("refuse reserved words in any case with 422, with digits or underscores around them, or starting with the brand", async () => {
    const user = await createUser();
    for (const handle of [
      "admin",
      "Support",
      "ROOT",
      "api",
      "settings",
      "About",
      "login",
      "help",
      "tasks",
      "admin_",
      "Support1",
      "_help_2",
      "proxy_official",
      "ProxyAgentTeam",
      "official",
      "Official_Sam",
    ]) {
      const res = await putRaw(user, { handle });
      expect(res.status, handle).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors?.[0]?.field).toBe("handle");
      expect(problem.detail, handle).toContain("reserved");
    }
  });

  it("are unique whatever their case: 409 for the second person", async () => {
    const [a, b] = [await createUser(), await createUser()];
    const handle = uniqueHandle("Cool");
    await putProfile(a, { handle, public: true });
    const res = await putRaw(b, { handle: handle.toLowerCase() });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: "handle_taken" });
    // The holder may re-save (even re-case) their own handle.
    expect((await putProfile(a, { handle: handle.toUpperCase(), public: true })).handle).toBe(
      handle.toUpperCase(),
    );
  });

  it("held by a hidden profile are refused with the same 409, which says nothing of the holder", async () => {
    const [a, b, c] = [await createUser(), await createUser(), await createUser()];
    const [shown, hidden] = [uniqueHandle("one"), uniqueHandle("two")];
    await putProfile(a, { handle: shown, public: true });
    await putProfile(b, { handle: hidden, public: false });
    const [toShown, toHidden] = [await putRaw(c, { handle: shown }), await putRaw(c, { handle: hidden })];
    expect([toShown.status, toHidden.status]).toEqual([409, 409]);
    const [p1, p2] = [await problemOf(toShown), await problemOf(toHidden)];
    const bare = (p: typeof p1, handle: string) => ({
      ...p,
      request_id: undefined,
      detail: p.detail?.replace(handle, "HANDLE"),
    });
    expect(bare(p2, hidden)).toEqual(bare(p1, shown));
    expect(JSON.stringify(p2)).not.toMatch(/hidden|public|private/i);
  });

  it("go to exactly one of two people asking at once", async () => {
    const [a, b] = [await createUser(), await createUser()];
    const handle = uniqueHandle("Race");
    const answers = await Promise.all([
      putRaw(a, { handle, public: true }),
      putRaw(b, { handle: handle.toLowerCase(), public: true }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const { results } = await env.DB.prepare("SELECT user_id FROM social_profiles WHERE handle_key = ?")
      .bind(handle.toLowerCase())
      .all<{ user_id: string }>();
    expect(results).toHaveLength(1);
    const winner = answers[0]?.status === 200 ? a : b;
    expect(results[0]?.user_id).toBe(winner.id);
  });
});

describe("public lookups", () => {
  it("answer 404 for what no handle can be, without asking D1 (a look-alike is not the handle)", async () => {
    const owner = await createUser();
    const handle = `kate_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
    await putProfile(owner, { handle, public: true });
    expect((await publicJson(handle)).status).toBe(200);
    // The Kelvin sign lower-cases to "k".
    const kelvin = encodeURIComponent(`\u212A${handle.slice(1)}`);
    expect("\u212A".toLowerCase()).toBe("k");
    for (const path of [
      `/api/v1/social/profiles/${kelvin}`,
      `/u/${kelvin}`,
      `/u/${kelvin}.png`,
      "/api/v1/social/profiles/no-such%20handle",
      "/u/..%2Fadmin",
      "/u/ab",
    ]) {
      expect(await tripsFor(path), path).toEqual({ status: 404, trips: 0 });
    }
    expect(await tripsFor(`/u/${handle.toUpperCase()}`)).toEqual({ status: 200, trips: 2 });
  });
});

describe("the showcase", () => {
  let owner: TestUser;
  let shown: Task;
  let hidden: Task;
  let handle: string;

  beforeAll(async () => {
    owner = await createUser();
    shown = await createTask(owner, {
      title: "Repaint the <b>fence</b> & gate",
      micro_steps: [{ description: "Buy paint" }, { description: "Paint" }],
    });
    await completeStep(owner, shown.task_id, shown.micro_steps?.[0]?.step_id ?? "");
    hidden = await createTask(owner, { title: "Owner's secret therapy notes" });
    await settle(owner.id);
    await adoptPet(owner, { species: "cat", name: "Miso" });
    handle = uniqueHandle("Show");
  });

  it("shows exactly the chosen items, in order, and only the chosen task's title", async () => {
    await putProfile(owner, {
      handle,
      public: true,
      showcase: [{ kind: "task", task_id: shown.task_id }, { kind: "level" }, { kind: "totals" }],
    });
    const profile = await callJson<PublicProfileDto>(`/api/v1/social/profiles/${handle}`, 200);
    expect(profile).toEqual({
      handle,
      url: `${env.API_BASE_URL}/u/${handle}`,
      image_url: `${env.API_BASE_URL}/u/${handle}.png`,
      showcase: [
        {
          kind: "task",
          title: "Repaint the <b>fence</b> & gate",
          status: "in_progress",
          completed_steps: 1,
          total_steps: 2,
          completed_at: null,
        },
        { kind: "level", level: 1, total_xp: expect.any(Number) },
        { kind: "totals", tasks_completed: 0, steps_completed: 1, focus_sessions: 0 },
      ],
    });
    const res = await call(`/u/${handle}`);
    const html = await res.text();
    expect(html).toContain("Repaint the &#60;b&#62;fence&#60;/b&#62; &#38; gate");
    expect(html).not.toContain("<b>fence");
    for (const secret of [owner.email, owner.id, shown.task_id, hidden.task_id, "secret therapy", "Miso"]) {
      expect(html).not.toContain(secret);
      expect(JSON.stringify(profile)).not.toContain(secret);
    }
    expect(html).not.toContain("<h2>Streak</h2>");
    expect(html).not.toContain("<svg");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const meta = metaOf(html);
    expect(meta).toMatchObject({
      "og:type": "profile",
      "og:title": `@${handle} on Proxy Agent`,
      "og:url": profile.url,
      "og:image": profile.image_url,
      "og:image:width": "1200",
      "og:image:height": "630",
      "twitter:card": "summary_large_image",
    });
  });

  it("draws the creature inline only when chosen, and names no seed or id", async () => {
    await putProfile(owner, { handle, public: true, showcase: [{ kind: "creature" }, { kind: "badges" }] });
    const profile = await callJson<PublicProfileDto>(`/api/v1/social/profiles/${handle}`, 200);
    expect(profile.showcase).toEqual([
      { kind: "creature", name: "Miso", species: "cat", level: 1, stage: 1, mood: expect.any(String) },
      { kind: "badges", badges: [] },
    ]);
    const html = await (await call(`/u/${handle}`)).text();
    expect(html).toMatch(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 240 240"/);
    expect(html).toContain("Miso");
    expect(html).not.toContain("Repaint");
    const seed = await env.DB.prepare("SELECT seed, id FROM user_pets WHERE user_id = ?")
      .bind(owner.id)
      .first<{ seed: string; id: string }>();
    expect(html).not.toContain(seed?.id ?? "missing");
    expect(JSON.stringify(profile)).not.toContain(seed?.seed ?? "missing");
  });

  it("has a 1200×630 card that changes with what is shown", async () => {
    await putProfile(owner, { handle, public: true, showcase: [{ kind: "level" }] });
    const first = await call(`/u/${handle}.png`);
    expect(first.status).toBe(200);
    const png = await decodePng(await bytesOf(first));
    expect([png.width, png.height]).toEqual([1200, 630]);
    const etag = first.headers.get("etag") ?? "";
    const same = await call(`/u/${handle}.png`, { headers: { "if-none-match": etag } });
    expect(same.status).toBe(304);
    await putProfile(owner, { handle, public: true, showcase: [{ kind: "level" }, { kind: "creature" }] });
    const changed = await call(`/u/${handle}.png`, { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    await changed.body?.cancel();
  });

  it("refuses another user's task, a missing task, repeats and more than 12 items, with 422 naming the field", async () => {
    const stranger = await createUser();
    const theirs = await putRaw(stranger, {
      handle: uniqueHandle(),
      showcase: [{ kind: "level" }, { kind: "task", task_id: shown.task_id }],
    });
    const missing = await putRaw(stranger, {
      handle: uniqueHandle(),
      showcase: [{ kind: "level" }, { kind: "task", task_id: newId() }],
    });
    for (const res of [theirs, missing]) {
      expect(res.status).toBe(422);
      expect((await problemOf(res)).errors).toEqual([
        { field: "showcase.1.task_id", message: "No task of yours has this id" },
      ]);
    }
    const repeated = await putRaw(owner, {
      handle,
      showcase: [{ kind: "level" }, { kind: "level" }],
    });
    expect(repeated.status).toBe(422);
    expect((await problemOf(repeated)).errors?.map((e) => e.field)).toEqual(["showcase.1.kind"]);
    const tooMany = await putRaw(owner, {
      handle,
      showcase: Array.from({ length: 13 }, () => ({ kind: "task", task_id: shown.task_id })),
    });
    expect(tooMany.status).toBe(422);
    const unknownKind = await putRaw(owner, { handle, showcase: [{ kind: "email" }] });
    expect(unknownKind.status).toBe(422);
    // Nothing changed for the stranger: still no profile.
    expect(
      (await callJson<SocialProfile>("/api/v1/social/profile", 200, { token: stranger.token })).handle,
    ).toBe(null);
  });

  it("drops a showcased task once it is deleted", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Soon gone" });
    const h = uniqueHandle();
    await putProfile(user, { handle: h, public: true, showcase: [{ kind: "task", task_id: task.task_id }] });
    expect((await callJson<PublicProfileDto>(`/api/v1/social/profiles/${h}`, 200)).showcase).toHaveLength(1);
    expect(
      (await call(`/api/v1/tasks/${task.task_id}`, { method: "DELETE", token: user.token })).status,
    ).toBe(204);
    const after = await callJson<PublicProfileDto>(`/api/v1/social/profiles/${h}`, 200);
    expect(after.showcase).toEqual([]);
    expect(await (await call(`/u/${h}`)).text()).not.toContain("Soon gone");
  });
});
