import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { PopularTemplateDto, TemplateShareDto } from "../src/features/templates/share-schemas";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { createTemplate, type Template, uniqueTemplateId } from "./helpers/templates";

type Share = TemplateShareDto;
type Popular = PopularTemplateDto;

const CODE_SHAPE = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}$/;

const shareOf = (user: TestUser, templateId: string, status = 201, body?: { listed?: boolean }) =>
  callJson<Share>(`/api/v1/templates/${templateId}/share`, status, {
    method: "POST",
    token: user.token,
    body,
  });

const importCode = (user: TestUser, code: string, headers?: Record<string, string>) =>
  callJson<Template>("/api/v1/templates/import", 201, { token: user.token, body: { code }, headers });

const templateOf = (user: TestUser, templateId: string) =>
  callJson<Template>(`/api/v1/templates/${templateId}`, 200, { token: user.token });

const countRows = async (sql: string, ...values: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...values)
      .first<{ n: number }>()
  )?.n;

/** The server's global id of a user's template, which the owner knows by their own id. */
const globalIdOf = async (userId: string, clientId: string) =>
  (
    await env.DB.prepare("SELECT id FROM task_templates WHERE user_id = ? AND client_id = ?")
      .bind(userId, clientId)
      .first<{ id: string }>()
  )?.id ?? "";

const nextPath = (res: Response) => /^<([^>]+)>; rel="next"$/.exec(res.headers.get("link") ?? "")?.[1];

/** Pages of the popular list, following the Link headers until `enough` says stop (or the list ends). */
async function popularPages(
  user: TestUser,
  path: string,
  enough: (items: Popular[]) => boolean = () => false,
): Promise<{ items: Popular[]; pages: Popular[][] }> {
  const pages: Popular[][] = [];
  let next: string | undefined = path;
  while (next) {
    const res = await call(next, { token: user.token });
    expect(res.status, next).toBe(200);
    pages.push(await res.json<Popular[]>());
    if (enough(pages.flat())) break;
    next = nextPath(res);
  }
  return { items: pages.flat(), pages };
}

/**
 * A D1 binding that runs `before` once, on the real database, just before the Worker's first batch:
 * what another request could do between the Worker's read and its write.
 */
function d1WithInterleaved(before: () => Promise<unknown>): D1Database {
  let done = false;
  const wrap = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            if (!done) {
              done = true;
              await before();
            }
            return value.call(target, statements);
          };
        }
        if (prop === "withSession") return (...args: unknown[]) => wrap(value.apply(target, args) as T);
        return value.bind(target);
      },
    });
  return wrap(env.DB);
}

/** A template with steps that differ in every field a step has. */
const RICH_STEPS = [
  { description: "Lay out the gym clothes", short_label: "Clothes", estimated_minutes: 2, icon: "👟" },
  { description: "Book the class online", estimated_minutes: 4, leaf_type: "DIGITAL" },
  { description: "Walk to the gym", short_label: "Walk", estimated_minutes: 9 },
];

describe("sharing a template and importing it by code", () => {
  it("gives another person their own copy: same steps in order, theirs to change, the source untouched", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, {
      template_id: uniqueTemplateId("gym"),
      name: "Get to the gym",
      description: "Three small moves",
      category: "health",
      icon: "🏋️",
      steps: RICH_STEPS,
    });
    const share = await shareOf(alice, source.template_id);
    expect(share).toEqual({
      code: expect.stringMatching(CODE_SHAPE),
      template_id: source.template_id,
      uses: 0,
      listed: true,
      created_at: expect.any(String),
    });
    // Sharing again is the same code, answered 200.
    expect(await shareOf(alice, source.template_id, 200)).toEqual(share);
    const withShare = await templateOf(alice, source.template_id);
    expect(withShare).toEqual({
      ...source,
      share: { code: share.code, uses: 0, listed: true, created_at: share.created_at },
    });

    // Typed in lower case, without the hyphen.
    const copy = await importCode(bob, share.code.replace("-", "").toLowerCase());
    expect(copy.template_id).not.toBe(source.template_id);
    expect(copy.template_id).not.toBe(await globalIdOf(alice.id, source.template_id));
    expect(copy).toMatchObject({
      name: "Get to the gym",
      description: "Three small moves",
      category: "Health",
      icon: "🏋️",
      is_public: false,
      is_mine: true,
      is_default: false,
      times_applied: 0,
      step_count: 3,
      total_estimated_minutes: 15,
      share: null,
    });
    expect(copy.steps).toEqual(source.steps);
    expect(await templateOf(bob, copy.template_id)).toEqual(copy);
    expect(await countRows("SELECT count(*) AS n FROM task_templates WHERE user_id = ?", bob.id)).toBe(1);

    // Bob's copy is his: he changes it, and Alice's template does not move.
    await callJson(`/api/v1/templates/${copy.template_id}`, 200, {
      method: "PATCH",
      token: bob.token,
      body: { name: "Bob's gym run" },
    });
    const restepped = await callJson<Template>(`/api/v1/templates/${copy.template_id}/steps`, 200, {
      method: "PUT",
      token: bob.token,
      body: { steps: [{ description: "Just go" }] },
    });
    expect(restepped).toMatchObject({ name: "Bob's gym run", step_count: 1 });
    const after = await templateOf(alice, source.template_id);
    expect(after).toEqual({ ...withShare, share: { ...withShare.share, uses: 1 } });
    // Bob still cannot read Alice's private template itself.
    expect((await call(`/api/v1/templates/${source.template_id}`, { token: bob.token })).status).toBe(404);
  });

  it("counts a use once per person, and never the owner's own import", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Counted routine" });
    const { code } = await shareOf(alice, source.template_id);
    const usesNow = async () => (await templateOf(alice, source.template_id)).share?.uses;

    await importCode(bob, code);
    expect(await usesNow()).toBe(1);
    // A second import is a second copy, but the same person.
    await importCode(bob, code);
    expect(await countRows("SELECT count(*) AS n FROM task_templates WHERE user_id = ?", bob.id)).toBe(2);
    expect(await usesNow()).toBe(1);
    await importCode(carol, code);
    expect(await usesNow()).toBe(2);
    // The owner may take a copy of their own; it is not a use.
    const own = await importCode(alice, code);
    expect(own).toMatchObject({ name: "Counted routine", is_mine: true, share: null });
    expect(await usesNow()).toBe(2);

    // Uses count people over every code the template had.
    await callJson(`/api/v1/templates/${source.template_id}/share`, 204, {
      method: "DELETE",
      token: alice.token,
    });
    const fresh = await shareOf(alice, source.template_id);
    expect(fresh.code).not.toBe(code);
    expect(fresh.uses).toBe(2);
    await importCode(bob, fresh.code);
    expect(await usesNow()).toBe(2);
    const globalId = await globalIdOf(alice.id, source.template_id);
    expect(
      await countRows("SELECT count(*) AS n FROM template_share_uses WHERE template_id = ?", globalId),
    ).toBe(2);
  });

  it("answers in one round trip to share and two to import", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice);
    const path = `/api/v1/templates/${source.template_id}/share`;
    expect(await tripsFor(path, { method: "POST", token: alice.token })).toEqual({
      status: 201,
      trips: 1 + LOOKUP,
    });
    const { code } = await shareOf(alice, source.template_id, 200);
    const body = JSON.stringify({ code });
    expect(await tripsFor("/api/v1/templates/import", { method: "POST", body, token: bob.token })).toEqual({
      status: 201,
      trips: 2 + LOOKUP,
    });
    expect(await tripsFor("/api/v1/templates/popular?limit=5", { token: bob.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });
});

describe("revoking a code", () => {
  it("makes it import as 404 while earlier copies stay; sharing again makes a new code", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Revocable routine" });
    const { code } = await shareOf(alice, source.template_id);
    const copy = await importCode(bob, code);
    const path = `/api/v1/templates/${source.template_id}/share`;
    expect((await call(path, { method: "DELETE", token: alice.token })).status).toBe(204);

    const refused = await call("/api/v1/templates/import", { token: carol.token, body: { code } });
    expect(refused.status).toBe(404);
    const problem = await problemOf(refused);
    expect(problem.code).toBe("not_found");
    expect(problem.detail).toMatch(/^No template is shared under this code;.*\.$/);
    expect(problem.detail).not.toContain("Revocable");
    expect(await countRows("SELECT count(*) AS n FROM task_templates WHERE user_id = ?", carol.id)).toBe(0);

    // Bob keeps his copy; Alice's template shows no code; revoking again is fine.
    expect(await templateOf(bob, copy.template_id)).toEqual(copy);
    expect((await templateOf(alice, source.template_id)).share).toBeNull();
    expect((await call(path, { method: "DELETE", token: alice.token })).status).toBe(204);

    const again = await shareOf(alice, source.template_id);
    expect(again.code).not.toBe(code);
    expect(again.uses).toBe(1);
    expect((await call("/api/v1/templates/import", { token: carol.token, body: { code } })).status).toBe(404);
    await importCode(carol, again.code);
  });

  it("goes with the template: a deleted template's code is unknown and its records are gone", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Short-lived routine" });
    const { code } = await shareOf(alice, source.template_id);
    await importCode(bob, code);
    const globalId = await globalIdOf(alice.id, source.template_id);
    await callJson(`/api/v1/templates/${source.template_id}`, 204, { method: "DELETE", token: alice.token });
    expect((await call("/api/v1/templates/import", { token: bob.token, body: { code } })).status).toBe(404);
    for (const table of ["template_shares", "template_share_uses"]) {
      expect(
        await countRows(`SELECT count(*) AS n FROM ${table} WHERE template_id = ?`, globalId),
        table,
      ).toBe(0);
    }
  });
});

describe("races", () => {
  it("a code revoked between the import's read and its write imports nothing and counts nothing", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Raced routine" });
    const { code } = await shareOf(alice, source.template_id);
    const globalId = await globalIdOf(alice.id, source.template_id);
    const revokeNow = () =>
      env.DB.prepare("UPDATE template_shares SET code = NULL WHERE template_id = ?").bind(globalId).run();
    const res = await callWith({ DB: d1WithInterleaved(revokeNow) }, "/api/v1/templates/import", {
      token: bob.token,
      body: { code },
    });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).detail).toMatch(/^No template is shared under this code/);
    expect(await countRows("SELECT count(*) AS n FROM task_templates WHERE user_id = ?", bob.id)).toBe(0);
    expect(await countRows("SELECT count(*) AS n FROM template_share_uses WHERE user_id = ?", bob.id)).toBe(
      0,
    );
  });

  it("a new code that happens to be taken already is drawn again", async () => {
    const alice = await createUser();
    const source = await createTemplate(alice, { name: "Unlucky routine" });
    const other = await createTemplate(alice, { name: "Holder of the code" });
    const taken = await shareOf(alice, other.template_id);
    const real = crypto.getRandomValues.bind(crypto);
    let forced = 0;
    // The first 10-byte draw (a share code's) repeats the taken code; everything else stays random.
    const spy = vi
      .spyOn(crypto, "getRandomValues")
      .mockImplementation(<T extends Parameters<Crypto["getRandomValues"]>[0]>(array: T) => {
        if (array instanceof Uint8Array && array.length === 10 && forced === 0) {
          forced += 1;
          const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
          array.set(Array.from(taken.code.replace("-", ""), (ch) => alphabet.indexOf(ch)));
          return array;
        }
        return real(array);
      });
    try {
      const share = await shareOf(alice, source.template_id);
      expect(forced).toBe(1);
      expect(share.code).toMatch(CODE_SHAPE);
      expect(share.code).not.toBe(taken.code);
    } finally {
      spy.mockRestore();
    }
    expect((await templateOf(alice, other.template_id)).share?.code).toBe(taken.code);
  });
});

describe("whose code it is", () => {
  it("another person can neither share, revoke nor see the code of a private template", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Alice hidden routine" });
    const { code } = await shareOf(alice, source.template_id);
    const missing = uniqueTemplateId("missing");
    for (const method of ["POST", "DELETE"]) {
      const theirs = await call(`/api/v1/templates/${source.template_id}/share`, {
        method,
        token: bob.token,
      });
      const never = await call(`/api/v1/templates/${missing}/share`, { method, token: bob.token });
      expect(theirs.status, method).toBe(404);
      const [a, b] = [await problemOf(theirs), await problemOf(never)];
      expect({ ...a, request_id: null, instance: null }).toEqual({ ...b, request_id: null, instance: null });
      expect(JSON.stringify(a)).not.toContain(code);
    }
    // Still shared, and still Alice's alone to see.
    expect((await templateOf(alice, source.template_id)).share?.code).toBe(code);
    const bobsList = await call("/api/v1/templates?limit=100", { token: bob.token });
    expect(await bobsList.text()).not.toContain(code);
    const listed = await callJson<Template[]>("/api/v1/templates?mine=true", 200, { token: alice.token });
    expect(listed.find((t) => t.template_id === source.template_id)?.share?.code).toBe(code);
  });

  it("someone else's public template: its code if its owner shared one, never revoked by others", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const open = await createTemplate(alice, { name: "Alice open routine", is_public: true });
    const globalId = await globalIdOf(alice.id, open.template_id);
    const unshared = await call(`/api/v1/templates/${globalId}/share`, { method: "POST", token: bob.token });
    expect(unshared.status).toBe(403);
    expect(await problemOf(unshared)).toMatchObject({ code: "not_template_owner" });
    expect(await countRows("SELECT count(*) AS n FROM template_shares WHERE template_id = ?", globalId)).toBe(
      0,
    );

    const share = await shareOf(alice, open.template_id, 201, { listed: false });
    // Bob reads the template without its code, but asking for it answers it (it is public anyway).
    expect((await templateOf(bob, globalId)).share).toBeNull();
    expect(await shareOf(bob, globalId, 200)).toEqual({ ...share, template_id: globalId });
    const revoke = await call(`/api/v1/templates/${globalId}/share`, { method: "DELETE", token: bob.token });
    expect(revoke.status).toBe(403);
    expect((await problemOf(revoke)).code).toBe("not_template_owner");
    expect((await templateOf(alice, open.template_id)).share?.code).toBe(share.code);
  });

  it("a built-in template has one code for everyone, which nobody can revoke", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const first = await call("/api/v1/templates/tpl_pay_a_bill/share", {
      method: "POST",
      token: alice.token,
    });
    // Another test may have asked first.
    expect([200, 201]).toContain(first.status);
    const share = await first.json<Share>();
    expect(share).toMatchObject({ template_id: "tpl_pay_a_bill", code: expect.stringMatching(CODE_SHAPE) });
    // `listed` means nothing for a built-in: it is public, so always listed.
    expect(await shareOf(bob, "tpl_pay_a_bill", 200, { listed: false })).toMatchObject({
      code: share.code,
      listed: true,
    });
    const revoke = await call("/api/v1/templates/tpl_pay_a_bill/share", {
      method: "DELETE",
      token: bob.token,
    });
    expect(revoke.status).toBe(403);
    expect((await problemOf(revoke)).detail).toMatch(/^Built-in templates keep their code/);
    const copy = await importCode(bob, share.code);
    expect(copy).toMatchObject({ is_default: false, is_mine: true, is_public: false });
    expect(copy.steps).toEqual((await templateOf(bob, "tpl_pay_a_bill")).steps);
  });
});

describe("bad codes", () => {
  it("are 422 when they cannot be a code and 404 when no template has them, each with a plain sentence", async () => {
    const bob = await createUser();
    for (const code of ["", "abc", "7KQ2M-9XW4", "UUUUU-UUUUU", "x".repeat(65)]) {
      const res = await call("/api/v1/templates/import", { token: bob.token, body: { code } });
      expect(res.status, code).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors?.map((e) => e.field)).toEqual(["code"]);
      expect(problem.detail).toMatch(/^code: .+\.$/);
    }
    for (const body of [{}, { code: 1234567890 }]) {
      const res = await call("/api/v1/templates/import", { token: bob.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
    const unknown = await call("/api/v1/templates/import", {
      token: bob.token,
      body: { code: "00000-00000" },
    });
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).detail).toMatch(/^No template is shared under this code/);
    expect(await countRows("SELECT count(*) AS n FROM task_templates WHERE user_id = ?", bob.id)).toBe(0);
  });

  it("'popular' cannot be a template's own id: it names the popular list", async () => {
    const user = await createUser();
    const res = await call("/api/v1/templates", {
      token: user.token,
      body: { template_id: "popular", name: "x", category: "Work", steps: [{ description: "a" }] },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["template_id"]);
  });
});

describe("importing with an Idempotency-Key", () => {
  it("makes one copy for two concurrent requests with the same key, and 422 for the key with another code", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Retried routine" });
    const { code } = await shareOf(alice, source.template_id);
    const headers = { "idempotency-key": "import-once" };
    const [first, second] = await Promise.all([
      call("/api/v1/templates/import", { token: bob.token, body: { code }, headers }),
      call("/api/v1/templates/import", { token: bob.token, body: { code: code.toLowerCase() }, headers }),
    ]);
    expect([first.status, second.status]).toEqual([201, 201]);
    const [a, b] = [await first.json<Template>(), await second.json<Template>()];
    expect(a).toEqual(b);
    expect(await countRows("SELECT count(*) AS n FROM task_templates WHERE user_id = ?", bob.id)).toBe(1);
    expect((await templateOf(alice, source.template_id)).share?.uses).toBe(1);
    const replay = await call("/api/v1/templates/import", { token: bob.token, body: { code }, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual(a);

    const other = await shareOf(alice, (await createTemplate(alice)).template_id);
    const reused = await call("/api/v1/templates/import", {
      token: bob.token,
      body: { code: other.code },
      headers,
    });
    expect(reused.status).toBe(422);
    expect((await problemOf(reused)).code).toBe("idempotency_key_reused");
  });
});

describe("the popular list", () => {
  it("orders by uses, then times applied, then newest; lists public and listed shares, never their maker", async () => {
    const owner = await createUser();
    const fans = await Promise.all(Array.from({ length: 3 }, () => createUser()));
    const make = (name: string, extra: Record<string, unknown> = {}) =>
      createTemplate(owner, { template_id: uniqueTemplateId("pop"), name, category: "Creative", ...extra });
    const a = await make("Popular A");
    const b = await make("Popular B");
    const c = await make("Popular C");
    const d = await make("Popular D");
    const unlisted = await make("Popular unlisted");
    // Private and never shared: not listed.
    await make("Popular private");
    const revoked = await make("Popular revoked");
    const open = await make("Popular open", { is_public: true });
    const codes = new Map<string, string>();
    for (const t of [a, b, c, d, revoked])
      codes.set(t.template_id, (await shareOf(owner, t.template_id)).code);
    codes.set(
      unlisted.template_id,
      (await shareOf(owner, unlisted.template_id, 201, { listed: false })).code,
    );
    const importBy = async (template: Template, people: TestUser[]) => {
      for (const person of people) await importCode(person, codes.get(template.template_id) ?? "");
    };
    await importBy(b, fans);
    await importBy(a, fans.slice(0, 2));
    await importBy(c, fans.slice(0, 2));
    await importBy(unlisted, fans);
    await importBy(revoked, fans);
    await callJson(`/api/v1/templates/${revoked.template_id}/share`, 204, {
      method: "DELETE",
      token: owner.token,
    });
    // C ties A on uses and wins on times applied; D and the public one tie on both, the newer first.
    await callJson(`/api/v1/templates/${c.template_id}/apply`, 201, { method: "POST", token: owner.token });

    const { items } = await popularPages(fans[0] as TestUser, "/api/v1/templates/popular?limit=100");
    const globalIds = new Map<string, string>();
    for (const t of [a, b, c, d, open])
      globalIds.set(await globalIdOf(owner.id, t.template_id), t.template_id);
    const byName = new Map(items.map((item) => [item.name, item]));
    const names = items.map((item) => item.name).filter((name) => name.startsWith("Popular "));
    expect(names).toEqual(["Popular B", "Popular C", "Popular A", "Popular open", "Popular D"]);
    expect(byName.get("Popular B")).toEqual({
      code: codes.get(b.template_id),
      template_id: null,
      name: "Popular B",
      description: null,
      category: "Creative",
      icon: null,
      is_default: false,
      step_count: 2,
      total_estimated_minutes: b.total_estimated_minutes,
      uses: 3,
      times_applied: 0,
      created_at: b.created_at,
    });
    expect(byName.get("Popular C")).toMatchObject({ uses: 2, times_applied: 1 });
    expect(byName.get("Popular open")).toMatchObject({ code: null, uses: 0 });
    expect(globalIds.get(byName.get("Popular open")?.template_id ?? "")).toBe(open.template_id);
    // Built-in templates are public, so they are listed too.
    expect(items.find((item) => item.template_id === "tpl_homework_assignment")).toMatchObject({
      is_default: true,
    });
    // Never who made it: no owner id, no email, not the owner's own ids for the templates.
    const text = JSON.stringify(items);
    for (const secret of [
      owner.id,
      owner.email,
      a.template_id,
      b.template_id,
      c.template_id,
      d.template_id,
    ]) {
      expect(text).not.toContain(secret);
    }
    // Every neighbour pair is in order: uses, then times applied, then created_at, all descending.
    for (const [i, item] of items.entries()) {
      const prev = items[i - 1];
      if (!prev) continue;
      const ordered =
        prev.uses !== item.uses
          ? prev.uses > item.uses
          : prev.times_applied !== item.times_applied
            ? prev.times_applied > item.times_applied
            : prev.created_at >= item.created_at;
      expect(ordered, `${prev.name} before ${item.name}`).toBe(true);
    }
  });

  it("pages with a stable cursor: small pages add up to the same order, each item once", async () => {
    const owner = await createUser();
    const fans = await Promise.all(Array.from({ length: 2 }, () => createUser()));
    for (const name of ["Paged 1", "Paged 2", "Paged 3", "Paged 4", "Paged 5"]) {
      const t = await createTemplate(owner, { name, category: "Academic" });
      const { code } = await shareOf(owner, t.template_id);
      for (const fan of fans) await importCode(fan, code);
    }
    const reader = fans[0] as TestUser;
    // The imported part of the list (uses ≥ 1): templates that others create meanwhile have none.
    const used = (items: Popular[]) => items.filter((item) => item.uses > 0);
    const whole = used(
      (await popularPages(reader, "/api/v1/templates/popular?limit=100&category=academic")).items,
    );
    expect(whole.filter((item) => item.name.startsWith("Paged ")).length).toBe(5);
    const small = await popularPages(reader, "/api/v1/templates/popular?limit=2&category=Academic", (items) =>
      items.some((item) => item.uses === 0),
    );
    expect(small.pages.length).toBeGreaterThanOrEqual(3);
    for (const page of small.pages) expect(page.length).toBeLessThanOrEqual(2);
    expect(used(small.items)).toEqual(whole);
    expect(new Set(small.items.map((item) => `${item.code} ${item.template_id}`)).size).toBe(
      small.items.length,
    );
    for (const item of small.items) expect(item.category).toBe("Academic");

    const bad = await call("/api/v1/templates/popular?cursor=bm90LWEtY3Vyc29y", { token: reader.token });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).code).toBe("invalid_cursor");
  });
});
