import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, callJson, callWith, createUser, problemOf } from "./helpers/api";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import {
  CODE_SHAPE,
  countRows,
  globalIdOf,
  importCode,
  revokeOf,
  type Share,
  shareOf,
  templateOf,
} from "./helpers/template-shares";
import { createTemplate, type Template, uniqueTemplateId } from "./helpers/templates";

/** A template's steps without what names them (a copy's steps are its own rows, of its own template). */
const stepsOf = (template: Template) =>
  template.steps.map(({ step_id: _s, template_id: _t, ...step }) => step);

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
      listed: false,
      created_at: expect.any(String),
    });
    // Sharing again is the same code, answered 200.
    expect(await shareOf(alice, source.template_id, 200)).toEqual(share);
    const withShare = await templateOf(alice, source.template_id);
    expect(withShare).toEqual({
      ...source,
      share: { code: share.code, uses: 0, listed: false, created_at: share.created_at },
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
    expect(stepsOf(copy)).toEqual(stepsOf(source));
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

  it("keeps count with a counter: a person whose records were erased stays counted", async () => {
    const [alice, bob, carol, dave] = [
      await createUser(),
      await createUser(),
      await createUser(),
      await createUser(),
    ];
    const source = await createTemplate(alice, { name: "Remembered routine" });
    const { code } = await shareOf(alice, source.template_id);
    await importCode(bob, code);
    await importCode(carol, code);
    // What deleting Bob's account does to the records of his imports.
    await env.DB.prepare("DELETE FROM template_share_uses WHERE user_id = ?").bind(bob.id).run();
    await importCode(dave, code);
    await importCode(carol, code);
    expect((await templateOf(alice, source.template_id)).share?.uses).toBe(3);
  });

  it("copies a template of ten steps whole: every step, in order, every field", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const steps = Array.from({ length: 10 }, (_, i) => ({
      description: `Move ${i + 1} of the long routine`,
      short_label: i % 2 === 0 ? `Move ${i + 1}` : undefined,
      estimated_minutes: 10 - i,
      leaf_type: i % 3 === 0 ? "DIGITAL" : "HUMAN",
      icon: i % 4 === 0 ? "⭐" : undefined,
    }));
    const source = await createTemplate(alice, { name: "Ten moves", steps });
    expect(source.step_count).toBe(10);
    const copy = await importCode(bob, (await shareOf(alice, source.template_id)).code);
    expect(copy).toMatchObject({ name: "Ten moves", step_count: 10, total_estimated_minutes: 55 });
    expect(stepsOf(copy)).toEqual(stepsOf(source));
    expect(copy.steps.map((step) => step.description)).toEqual(steps.map((step) => step.description));
    expect(await templateOf(bob, copy.template_id)).toEqual(copy);
  });

  it("answers in one round trip to share and to revoke, two to import", async () => {
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
    expect(await tripsFor(path, { method: "DELETE", token: alice.token })).toEqual({
      status: 204,
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

describe("the owner's two ids for a template", () => {
  it("revoking by the server's id retires the code, and sharing by it answers the owner's code", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, { template_id: uniqueTemplateId("own"), name: "Two names" });
    const globalId = await globalIdOf(alice.id, source.template_id);
    const first = await shareOf(alice, source.template_id);

    await revokeOf(alice, globalId);
    const refused = await call("/api/v1/templates/import", { token: bob.token, body: { code: first.code } });
    expect(refused.status).toBe(404);
    expect((await templateOf(alice, source.template_id)).share).toBeNull();

    const second = await shareOf(alice, globalId);
    expect(second).toMatchObject({
      template_id: source.template_id,
      code: expect.stringMatching(CODE_SHAPE),
    });
    expect(second.code).not.toBe(first.code);
    expect(await shareOf(alice, source.template_id, 200)).toEqual(second);
    expect(await shareOf(alice, globalId, 200)).toEqual(second);
    await importCode(bob, second.code);
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
    expect(stepsOf(copy)).toEqual(stepsOf(await templateOf(bob, "tpl_pay_a_bill")));
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

describe("the share request's body", () => {
  it("is refused when it is not JSON (415), rather than its `listed` silently ignored", async () => {
    const alice = await createUser();
    const source = await createTemplate(alice, { name: "Plain text routine" });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", ""]) {
      const res = await call(`/api/v1/templates/${source.template_id}/share`, {
        token: alice.token,
        body: JSON.stringify({ listed: true }),
        headers: { "content-type": type },
      });
      expect(res.status, type).toBe(415);
      const problem = await problemOf(res);
      expect(problem.code).toBe("unsupported_media_type");
      expect(problem.detail).toMatch(/^[A-Z].*\.$/);
    }
    const globalId = await globalIdOf(alice.id, source.template_id);
    expect(await countRows("SELECT count(*) AS n FROM template_shares WHERE template_id = ?", globalId)).toBe(
      0,
    );
    // No body at all takes every default; a JSON one is read.
    expect(await shareOf(alice, source.template_id)).toMatchObject({ listed: false });
    expect(await shareOf(alice, source.template_id, 200, { listed: true })).toMatchObject({ listed: true });
  });
});

describe("a template stored as 'popular' before the id was reserved", () => {
  it("is still listed, changed, shared and deleted by that id; only its GET names the popular list", async () => {
    const alice = await createUser();
    const made = await createTemplate(alice, { template_id: uniqueTemplateId("legacy"), name: "Old one" });
    await env.DB.prepare(
      "UPDATE task_templates SET client_id = 'popular' WHERE user_id = ? AND client_id = ?",
    )
      .bind(alice.id, made.template_id)
      .run();
    const mine = await callJson<Template[]>("/api/v1/templates?mine=true", 200, { token: alice.token });
    expect(mine.map((t) => t.template_id)).toEqual(["popular"]);
    const renamed = await callJson<Template>("/api/v1/templates/popular", 200, {
      method: "PATCH",
      token: alice.token,
      body: { name: "Old one, renamed" },
    });
    expect(renamed).toMatchObject({ template_id: "popular", name: "Old one, renamed" });
    expect(await shareOf(alice, "popular")).toMatchObject({ template_id: "popular" });
    await revokeOf(alice, "popular");
    await callJson("/api/v1/templates/popular", 204, { method: "DELETE", token: alice.token });
    expect(await callJson<Template[]>("/api/v1/templates?mine=true", 200, { token: alice.token })).toEqual(
      [],
    );
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
