import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { PetState } from "../durable-objects/pet-state";
import { type PetAction, type PetState as PetData, type PetStep, stepPet } from "../src/features/pets/care";
import { cardRenders } from "../src/features/social/card-cache";
import { SHARE_CODE_PATTERN } from "../src/features/social/codes";
import type { ProblemBody } from "../src/lib/errors";
import { newId, sha256Hex } from "../src/lib/ids";
import { BASE, call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { settle } from "./helpers/outbox";
import { adoptPet, petObject } from "./helpers/pets";
import { decodePng, expectedRawSize } from "./helpers/png";
import { bytesOf, fetchPublic, metaOf, pathOf, type Share, share, unescapeHtml } from "./helpers/social";
import { completeStep, createTask, type Task } from "./helpers/tasks";

/**
 * Shared moments (BE-08): sharing, the public page and its tags, the card, revoking. Public profiles
 * are in tests/social-profiles.test.ts; the card's drawing and the pure rules in social-cards.test.ts.
 */

const steps = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ description: `Step ${i + 1}`, estimated_minutes: 2 }));

async function completeAll(user: TestUser, task: Task) {
  for (const step of task.micro_steps ?? []) await completeStep(user, task.task_id, step.step_id);
}

/** A user who finished ten steps today: level 2, a one-day streak, the First Steps badge. */
async function achiever(): Promise<TestUser & { task: Task }> {
  const user = await createUser();
  const task = await createTask(user, { title: "Big push on the garden shed", micro_steps: steps(10) });
  await completeAll(user, task);
  await settle(user.id);
  await settle(user.id);
  return { ...user, task };
}

const storedShare = (shareId: string) =>
  env.DB.prepare("SELECT user_id, code, kind, ref_id, snapshot FROM social_shares WHERE id = ?")
    .bind(shareId)
    .first<{ user_id: string; code: string; kind: string; ref_id: string | null; snapshot: string }>();

async function pageOf(s: Share): Promise<string> {
  const res = await fetchPublic(s.url);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  return res.text();
}

/**
 * Commits a change in the user's pet object as its care actions do, without the D1 write that follows
 * their answer: the moment in between, held still.
 */
async function changedButNotWritten(user: TestUser, action: PetAction): Promise<void> {
  await runInDurableObject(petObject(user), (instance: PetState) => {
    const pet = instance as unknown as {
      store: { state(): PetData | undefined };
      apply(result: PetStep, now: number, options: { force: boolean }): number;
    };
    const state = pet.store.state();
    if (!state) throw new Error("no pet in its object");
    const now = Date.now();
    pet.apply(stepPet(state, action, now), now, { force: true });
  });
}

let alice: TestUser & { task: Task };

beforeAll(async () => {
  alice = await achiever();
});

describe("sharing a moment", () => {
  it("shares a level: 201 with its page, card and words, and keeps the moment", async () => {
    const res = await call("/api/v1/social/share", { token: alice.token, body: { kind: "level" } });
    expect(res.status).toBe(201);
    const s = await res.json<Share>();
    expect(s.code).toMatch(SHARE_CODE_PATTERN);
    expect(s).toMatchObject({
      kind: "level",
      ref_id: null,
      url: `${env.API_BASE_URL}/s/${s.code}`,
      image_url: `${env.API_BASE_URL}/s/${s.code}.png`,
      title: "Level 2 reached",
      text: "I reached level 2 on Proxy Agent!",
    });
    const row = await storedShare(s.share_id);
    expect(row).toMatchObject({ user_id: alice.id, code: s.code, kind: "level", ref_id: null });
    expect(JSON.parse(row?.snapshot ?? "{}")).toMatchObject({
      v: 1,
      kind: "level",
      level: 2,
      creature: null,
    });

    // More XP later does not change what was shared: the page shows the moment.
    const before = await env.DB.prepare("SELECT total_xp, level FROM user_progress WHERE user_id = ?")
      .bind(alice.id)
      .first<{ total_xp: number; level: number }>();
    await env.DB.prepare("UPDATE user_progress SET total_xp = 100000, level = 30 WHERE user_id = ?")
      .bind(alice.id)
      .run();
    try {
      const html = await pageOf(s);
      expect(metaOf(html)["og:title"]).toBe("Level 2 reached");
      expect(html).not.toContain("Level 30");
    } finally {
      await env.DB.prepare("UPDATE user_progress SET total_xp = ?, level = ? WHERE user_id = ?")
        .bind(before?.total_xp, before?.level, alice.id)
        .run();
    }
  });

  it("shares today's streak, and refuses with 409 when there is none", async () => {
    const s = await share(alice, { kind: "streak" });
    expect(s).toMatchObject({ kind: "streak", title: "A 1-day streak" });
    expect(JSON.parse((await storedShare(s.share_id))?.snapshot ?? "{}")).toMatchObject({
      current_days: 1,
      longest_days: 1,
    });
    const newcomer = await createUser();
    const res = await call("/api/v1/social/share", { token: newcomer.token, body: { kind: "streak" } });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: "no_streak" });
  });

  it("shares an unlocked badge; a locked or unknown one is 422 naming ref_id, and nothing is stored", async () => {
    const s = await share(alice, { kind: "achievement", ref_id: "steps_bronze" });
    expect(s).toMatchObject({
      kind: "achievement",
      ref_id: "steps_bronze",
      title: "Badge unlocked: First Steps",
    });
    for (const [refId, detail] of [
      ["steps_gold", "You have not unlocked this badge yet"],
      ["no_such_badge", "No badge has this id"],
    ] as const) {
      const res = await call("/api/v1/social/share", {
        token: alice.token,
        body: { kind: "achievement", ref_id: refId },
      });
      expect(res.status).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors).toEqual([{ field: "ref_id", message: detail }]);
    }
    const { results } = await env.DB.prepare(
      "SELECT ref_id FROM social_shares WHERE user_id = ? AND kind = ?",
    )
      .bind(alice.id, "achievement")
      .all<{ ref_id: string }>();
    expect(results.map((r) => r.ref_id)).toEqual(["steps_bronze"]);
  });

  it("needs ref_id for achievement and task, and refuses it for the other kinds", async () => {
    for (const body of [{ kind: "task" }, { kind: "achievement" }, { kind: "level", ref_id: "x" }]) {
      const res = await call("/api/v1/social/share", { token: alice.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["ref_id"]);
    }
    const unknownKind = await call("/api/v1/social/share", {
      token: alice.token,
      body: { kind: "birthday" },
    });
    expect(unknownKind.status).toBe(422);
  });

  it("accepts the kind in any letter case", async () => {
    expect((await share(alice, { kind: "LEVEL" })).kind).toBe("level");
  });

  it("shares the creature as it looks now (409 without one), and draws it small on every card after", async () => {
    const user = await createUser();
    const refused = await call("/api/v1/social/share", { token: user.token, body: { kind: "creature" } });
    expect(refused.status).toBe(409);
    expect(await problemOf(refused)).toMatchObject({
      code: "no_creature",
      detail: "You have no creature yet: adopt one with POST /api/v1/pets.",
    });
    await adoptPet(user, { species: "owl", name: "Hoot" });
    const s = await share(user, { kind: "creature" });
    expect(s).toMatchObject({
      kind: "creature",
      title: "Meet Hoot",
      text: "Meet Hoot, my owl on Proxy Agent!",
    });
    const snapshot = JSON.parse((await storedShare(s.share_id))?.snapshot ?? "{}");
    expect(snapshot.creature).toMatchObject({ name: "Hoot", species: "owl", level: 1, stage: 1 });
    const task = await createTask(user, { title: "Feed the owl" });
    const later = await share(user, { kind: "task", ref_id: task.task_id });
    expect(JSON.parse((await storedShare(later.share_id))?.snapshot ?? "{}").creature).toEqual(
      snapshot.creature,
    );
    // A new account's level 1 is no moment yet.
    const level = await call("/api/v1/social/share", { token: user.token, body: { kind: "level" } });
    expect(level.status).toBe(409);
    expect(await problemOf(level)).toMatchObject({ code: "no_level_up" });
  });

  it("freezes the creature as its object holds it, even before D1's copy has caught up", async () => {
    const user = await createUser();
    await adoptPet(user, { species: "cat", name: "Miso" });
    const task = await createTask(user, { title: "Brush the cat" });
    await callJson("/api/v1/pets/me", 200, { method: "PATCH", token: user.token, body: { name: "Pepper" } });
    expect((await share(user, { kind: "creature" })).title).toBe("Meet Pepper");

    // The object answers first and writes D1 just after (care, evolving): catch it in between.
    const d1Name = async () =>
      (
        await env.DB.prepare("SELECT name FROM user_pets WHERE user_id = ?")
          .bind(user.id)
          .first<{ name: string }>()
      )?.name;
    for (const [name, kind] of [
      ["Nori", "creature"],
      ["Tofu", "task"],
    ] as const) {
      await changedButNotWritten(user, { type: "rename", name });
      expect(await d1Name()).not.toBe(name);
      const s = await share(user, kind === "task" ? { kind, ref_id: task.task_id } : { kind });
      const snapshot = JSON.parse((await storedShare(s.share_id))?.snapshot ?? "{}");
      expect(snapshot.creature.name).toBe(name);
      expect(await d1Name()).toBe(name);
    }
  });

  it("shares one of your tasks, its title only; another user's task is the same 404 as a missing one", async () => {
    const s = await share(alice, { kind: "task", ref_id: alice.task.task_id });
    expect(s).toMatchObject({
      kind: "task",
      ref_id: alice.task.task_id,
      title: "Done: Big push on the garden shed",
      text: 'I finished "Big push on the garden shed" on Proxy Agent!',
    });
    const bob = await createUser();
    const theirs = await call("/api/v1/social/share", {
      token: bob.token,
      body: { kind: "task", ref_id: alice.task.task_id },
    });
    const missing = await call("/api/v1/social/share", {
      token: bob.token,
      body: { kind: "task", ref_id: newId() },
    });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    const [a, b] = [await problemOf(theirs), await problemOf(missing)];
    expect({ ...a, request_id: undefined }).toEqual({ ...b, request_id: undefined });
    expect(JSON.stringify(a)).not.toContain("garden shed");
    const bobs = await env.DB.prepare("SELECT count(*) AS n FROM social_shares WHERE user_id = ?")
      .bind(bob.id)
      .first<{ n: number }>();
    expect(bobs?.n).toBe(0);
  });

  it("replays the first answer to a retry with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": `share-${crypto.randomUUID()}` };
    const first = await callJson<Share>("/api/v1/social/share", 201, {
      token: alice.token,
      body: { kind: "level" },
      headers,
    });
    const retry = await call("/api/v1/social/share", {
      token: alice.token,
      body: { kind: "level" },
      headers,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.json()).toEqual(first);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM social_shares WHERE code = ?")
      .bind(first.code)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("lists your shares newest first, paged, and never anybody else's", async () => {
    const user = await createUser();
    await adoptPet(user);
    const task = await createTask(user, { title: "Water the plants" });
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(await share(user, i === 1 ? { kind: "creature" } : { kind: "task", ref_id: task.task_id }));
    const first = await call("/api/v1/social/shares?limit=2", { token: user.token });
    expect(first.status).toBe(200);
    const page1 = await first.json<Share[]>();
    expect(page1.map((s) => s.share_id)).toEqual([made[2]?.share_id, made[1]?.share_id]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")?.[1] ?? "";
    const page2 = await callJson<Share[]>(next, 200, { token: user.token });
    expect(page2).toEqual([made[0]]);
    const other = await createUser();
    expect(await callJson<Share[]>("/api/v1/social/shares", 200, { token: other.token })).toEqual([]);
  });
});

describe("the public page", () => {
  let taskShare: Share;
  let html: string;

  beforeAll(async () => {
    taskShare = await share(alice, { kind: "task", ref_id: alice.task.task_id });
    html = await pageOf(taskShare);
  });

  it("carries Open Graph and Twitter card tags for link previews", () => {
    const meta = metaOf(html);
    expect(meta).toMatchObject({
      "og:type": "website",
      "og:title": "Done: Big push on the garden shed",
      "og:url": taskShare.url,
      "og:image": taskShare.image_url,
      "og:image:width": "1200",
      "og:image:height": "630",
      "og:image:type": "image/png",
      "twitter:card": "summary_large_image",
      "twitter:title": "Done: Big push on the garden shed",
      "twitter:image": taskShare.image_url,
    });
    expect(meta["og:description"]).toContain("All 10 steps done");
    expect(html).toContain(`<img class="card" src="${taskShare.image_url}" width="1200" height="630"`);
  });

  it("offers share links for eight networks, every value URL-encoded", () => {
    const links = new Map(
      [...html.matchAll(/<a href="([^"]+)" data-network="([a-z]+)"/g)].map((m) => [
        m[2],
        unescapeHtml(m[1] ?? ""),
      ]),
    );
    expect([...links.keys()]).toEqual([
      "x",
      "facebook",
      "linkedin",
      "reddit",
      "whatsapp",
      "telegram",
      "bluesky",
      "email",
    ]);
    const param = (network: string, name: string) => new URL(links.get(network) ?? "").searchParams.get(name);
    expect(param("x", "url")).toBe(taskShare.url);
    expect(param("x", "text")).toBe(taskShare.text);
    expect(param("facebook", "u")).toBe(taskShare.url);
    expect(param("linkedin", "url")).toBe(taskShare.url);
    expect(param("reddit", "url")).toBe(taskShare.url);
    expect(param("reddit", "title")).toBe(taskShare.title);
    expect(param("whatsapp", "text")).toBe(`${taskShare.text} ${taskShare.url}`);
    expect(param("telegram", "url")).toBe(taskShare.url);
    expect(param("bluesky", "text")).toBe(`${taskShare.text} ${taskShare.url}`);
    const mail = links.get("email") ?? "";
    expect(mail.startsWith("mailto:?subject=")).toBe(true);
    expect(decodeURIComponent(mail.slice(mail.indexOf("&body=") + 6))).toBe(
      `${taskShare.text} ${taskShare.url}`,
    );
    // Quotes in the text are encoded, never raw in a URL.
    for (const href of links.values()) expect(href).not.toMatch(/[\s"<>]/);
  });

  it("shows no email, no other task, no ids", async () => {
    await createTask(alice, { title: "Alice's private dentist appointment" });
    const again = await pageOf(taskShare);
    for (const secret of [alice.email, "dentist", alice.id, alice.task.task_id, taskShare.share_id]) {
      expect(again).not.toContain(secret);
    }
    const level = await pageOf(await share(alice, { kind: "level" }));
    expect(level).not.toContain("garden shed");
    expect(level).not.toContain(alice.email);
  });

  it("renders a task titled with markup inert, and forbids scripts", async () => {
    const evil = `<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"`;
    const task = await createTask(alice, { title: evil });
    const s = await share(alice, { kind: "task", ref_id: task.task_id });
    const res = await fetchPublic(s.url);
    const page = await res.text();
    expect(page).not.toContain("<script");
    expect(page).not.toContain("<img src=x");
    expect(page).not.toContain('alert("x")');
    expect(page).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;");
    expect(unescapeHtml(metaOf(page)["og:title"] ?? "")).toBe(`In progress: ${evil}`);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("content-security-policy")).not.toContain("script-src");
  });

  it("answers the code in any case, and a 304 to its ETag", async () => {
    const upper = await call(`/s/${taskShare.code.toUpperCase()}`);
    expect(upper.status).toBe(200);
    const etag = upper.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    // Stored, but asked about again before each use: a revoked share is gone from caches at once too.
    expect(upper.headers.get("cache-control")).toBe("public, no-cache");
    await upper.body?.cancel();
    const again = await fetchPublic(taskShare.url, { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("cache-control")).toBe("public, no-cache");
    expect(await again.text()).toBe("");
  });

  it("has the hash of its HTML as its ETag, so the ETag changes whenever the page's bytes do", async () => {
    const res = await fetchPublic(taskShare.url);
    const body = await res.text();
    expect(res.headers.get("etag")).toBe(`"${(await sha256Hex(body)).slice(0, 32)}"`);
  });

  it("is a 404 page for a code nobody holds", async () => {
    for (const path of ["/s/2345678923", "/s/not-a-code", "/s/%E2%9C%93"]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).toContain("This share is not here");
    }
  });
});

describe("the card", () => {
  it("is a real PNG, 1200×630 RGBA, whose image data inflates to every row", async () => {
    const s = await share(alice, { kind: "level" });
    const res = await fetchPublic(s.image_url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(res.headers.get("cache-control")).toBe("public, no-cache");
    const png = await decodePng(await bytesOf(res));
    expect(png).toMatchObject({ width: 1200, height: 630, bitDepth: 8, colourType: 6 });
    expect(png.raw.length).toBe(expectedRawSize(png));
    expect(png.raw.length).toBe(630 * (1 + 1200 * 4));
  });

  it("differs per share, and is the same bytes and ETag for the same share (kept in the edge cache)", async () => {
    const creatureOwner = await createUser();
    await adoptPet(creatureOwner, { species: "dragon", name: "Ember" });
    const one = await share(creatureOwner, { kind: "creature" });
    const two = await share(alice, { kind: "streak" });
    const started = performance.now();
    // (Waiting for the request's after-response work: the drawn card is put in the cache then.)
    const first = await callWith({}, pathOf(one.image_url));
    console.log(`share card: first request (render) ${Math.round(performance.now() - started)} ms`);
    expect(first.headers.get("x-card-cache")).toBe("miss");
    const firstBytes = await bytesOf(first);
    const again = await fetchPublic(one.image_url);
    expect(again.headers.get("x-card-cache")).toBe("hit");
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(await bytesOf(again)).toEqual(firstBytes);
    const other = await fetchPublic(two.image_url);
    expect(other.headers.get("etag")).not.toBe(first.headers.get("etag"));
    expect(await bytesOf(other)).not.toEqual(firstBytes);
    const notModified = await fetchPublic(one.image_url, {
      "if-none-match": first.headers.get("etag") ?? "",
    });
    expect(notModified.status).toBe(304);
    expect((await bytesOf(notModified)).length).toBe(0);
  });

  it("may be embedded by other sites, its 304 too, while every other answer stays same-origin", async () => {
    const s = await share(alice, { kind: "level" });
    const first = await fetchPublic(s.image_url);
    expect(first.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    const etag = first.headers.get("etag") ?? "";
    await first.body?.cancel();
    // A 304 updates the headers a cache keeps: it must not narrow what the 200 allowed.
    const notModified = await fetchPublic(s.image_url, { "if-none-match": etag });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(notModified.headers.get("etag")).toBe(etag);
    expect(notModified.headers.get("cache-control")).toBe("public, no-cache");
    // The rest of the secure headers stay on the card.
    expect(notModified.headers.get("x-content-type-options")).toBe("nosniff");
    const page = await fetchPublic(s.url);
    expect(page.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    await page.body?.cancel();
    const api = await call("/api/v1/social/shares", { token: alice.token });
    expect(api.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    await api.body?.cancel();
  });

  it("is drawn once for many first requests at once, and not at all for a HEAD", async () => {
    const s = await share(alice, { kind: "level" });
    const before = cardRenders();
    const head = await exports.default.fetch(`${BASE}${pathOf(s.image_url)}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("image/png");
    expect(head.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await bytesOf(head)).length).toBe(0);
    expect(cardRenders()).toBe(before);

    const answers = await Promise.all(Array.from({ length: 6 }, () => fetchPublic(s.image_url)));
    const bodies = await Promise.all(answers.map(bytesOf));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(200));
    for (const body of bodies) expect(body).toEqual(bodies[0]);
    expect(cardRenders() - before).toBe(1);
    const sources = answers.map((r) => r.headers.get("x-card-cache"));
    expect(sources.filter((x) => x === "miss")).toHaveLength(1);
    expect(answers.map((r) => r.headers.get("etag"))).toEqual(Array(6).fill(head.headers.get("etag")));
  });

  it("draws a creature whose name holds a control character, on every card", async () => {
    const user = await createUser();
    await adoptPet(user, { species: "dog", name: "Rex\u0001" });
    const task = await createTask(user, { title: "Walk Rex\u0002 twice" });
    for (const s of [
      await share(user, { kind: "creature" }),
      await share(user, { kind: "task", ref_id: task.task_id }),
    ]) {
      const res = await fetchPublic(s.image_url);
      expect(res.status, s.kind).toBe(200);
      const png = await decodePng(await bytesOf(res));
      expect([png.width, png.height]).toEqual([1200, 630]);
      expect((await fetchPublic(s.url)).status).toBe(200);
    }
  });

  it("is 404 problem+json for an unknown code", async () => {
    const res = await call("/s/2345678923.png");
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toMatchObject({ code: "not_found", detail: "Share was not found." });
  });
});

describe("revoking", () => {
  it("takes the page and the card down at once, and drops the card from this location's cache", async () => {
    const s = await share(alice, { kind: "level" });
    expect((await callWith({}, pathOf(s.image_url))).status).toBe(200);
    const cached = await fetchPublic(s.image_url);
    expect(cached.headers.get("x-card-cache")).toBe("hit");
    const etag = cached.headers.get("etag") ?? "";
    const cacheKey = `${BASE}/s/${s.code}.png?v=${etag.slice(1, -1)}`;
    expect(await caches.default.match(cacheKey)).toBeDefined();
    const res = await call(`/api/v1/social/share/${s.share_id}`, { method: "DELETE", token: alice.token });
    expect(res.status).toBe(204);
    const page = await fetchPublic(s.url);
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toContain("text/html");
    const card = await fetchPublic(s.image_url);
    expect(card.status).toBe(404);
    expect((await problemOf(card)).code).toBe("not_found");
    expect(await storedShare(s.share_id)).toBeNull();
    // This location's cache lets go of the card too.
    expect(await caches.default.match(cacheKey)).toBeUndefined();
    const listed = await callJson<Share[]>("/api/v1/social/shares?limit=100", 200, { token: alice.token });
    expect(listed.map((l) => l.share_id)).not.toContain(s.share_id);
    const twice = await call(`/api/v1/social/share/${s.share_id}`, { method: "DELETE", token: alice.token });
    expect(twice.status).toBe(404);
  });

  it("looks the share up before the cache: a share gone from D1 is 404 while its card is still cached", async () => {
    const s = await share(alice, { kind: "level" });
    const drawn = await callWith({}, pathOf(s.image_url));
    expect(drawn.status).toBe(200);
    const etag = drawn.headers.get("etag") ?? "";
    const cacheKey = `${BASE}/s/${s.code}.png?v=${etag.slice(1, -1)}`;
    expect(await caches.default.match(cacheKey)).toBeDefined();
    // Gone without the DELETE route (which would also clear the cache): straight from D1.
    await env.DB.prepare("DELETE FROM social_shares WHERE id = ?").bind(s.share_id).run();
    const card = await fetchPublic(s.image_url);
    expect(card.status).toBe(404);
    expect((await problemOf(card)).code).toBe("not_found");
    const revalidated = await fetchPublic(s.image_url, { "if-none-match": etag });
    expect(revalidated.status).toBe(404);
    await revalidated.body?.cancel();
    expect((await fetchPublic(s.url)).status).toBe(404);
    // The cache still holds the picture: only the lookup took it down.
    expect(await caches.default.match(cacheKey)).toBeDefined();
  });

  it("is 404 for another user's share, which stays up", async () => {
    const s = await share(alice, { kind: "level" });
    const bob = await createUser();
    const theirs = await call(`/api/v1/social/share/${s.share_id}`, { method: "DELETE", token: bob.token });
    expect(theirs.status).toBe(404);
    expect((await problemOf(theirs)).detail).toBe("Share was not found.");
    expect((await fetchPublic(s.url)).status).toBe(200);
  });
});

describe("scopes", () => {
  it("needs social:write to share and social:read to list", async () => {
    const reader = await createApiToken(alice.token, { name: "social reader", scopes: ["social:read"] });
    const refused = await call("/api/v1/social/share", { token: reader.token, body: { kind: "level" } });
    expect(refused.status).toBe(403);
    expect((await refused.json<ProblemBody>()).detail).toContain("social:write");
    expect((await call("/api/v1/social/shares", { token: reader.token })).status).toBe(200);
    const tasksOnly = await createApiToken(alice.token, { name: "tasks", scopes: ["tasks:read"] });
    expect((await call("/api/v1/social/shares", { token: tasksOnly.token })).status).toBe(403);
    const writer = await createApiToken(alice.token, { name: "social writer", scopes: ["social:write"] });
    expect(
      (await call("/api/v1/social/share", { token: writer.token, body: { kind: "level" } })).status,
    ).toBe(201);
  });
});

describe("links the API answers", () => {
  it("are paths this server serves", async () => {
    const s = await share(alice, { kind: "level" });
    expect(pathOf(s.url)).toBe(`/s/${s.code}`);
    expect(pathOf(s.image_url)).toBe(`/s/${s.code}.png`);
  });
});

describe("D1 round trips", () => {
  it("share in two (the moment read in one batch, then the write), read pages and cards in one", async () => {
    const created = await tripsFor("/api/v1/social/share", {
      method: "POST",
      token: alice.token,
      body: JSON.stringify({ kind: "task", ref_id: alice.task.task_id }),
    });
    expect(created).toEqual({ status: 201, trips: 2 + LOOKUP });
    const [latest] = await callJson<Share[]>("/api/v1/social/shares?limit=1", 200, { token: alice.token });
    const code = latest?.code ?? "";
    expect(await tripsFor(`/s/${code}`)).toEqual({ status: 200, trips: 1 });
    await tripsFor(`/s/${code}.png`);
    expect(await tripsFor(`/s/${code}.png`)).toEqual({ status: 200, trips: 1 });
    expect(await tripsFor("/api/v1/social/shares", { token: alice.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });

  it("read a public profile in two (the profile, then all it shows in one batch)", async () => {
    const handle = `trips_${crypto.randomUUID().slice(0, 8)}`;
    const body = {
      handle,
      public: true,
      showcase: [{ kind: "level" }, { kind: "badges" }, { kind: "task", task_id: alice.task.task_id }],
    };
    expect(
      await tripsFor("/api/v1/social/profile", {
        method: "PUT",
        token: alice.token,
        body: JSON.stringify(body),
      }),
    ).toEqual({ status: 200, trips: 2 + LOOKUP });
    expect(await tripsFor(`/api/v1/social/profiles/${handle}`)).toEqual({ status: 200, trips: 2 });
    expect(await tripsFor(`/u/${handle}`)).toEqual({ status: 200, trips: 2 });
    await callJson("/api/v1/social/profile", 200, {
      method: "PUT",
      token: alice.token,
      body: { ...body, public: false },
    });
  });
});
