import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64UrlEncode } from "../src/lib/ids";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { freezeClock, realNow, thawClock } from "./helpers/clock";
import {
  globalIdOf,
  importCode,
  type Popular,
  popularPages,
  revokeOf,
  shareOf,
} from "./helpers/template-shares";
import { createTemplate, type Template, uniqueTemplateId } from "./helpers/templates";

const LISTED = { listed: true };

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
      codes.set(t.template_id, (await shareOf(owner, t.template_id, 201, LISTED)).code);
    // Shared without saying: a private template's code is not listed.
    codes.set(unlisted.template_id, (await shareOf(owner, unlisted.template_id)).code);
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
      const { code } = await shareOf(owner, t.template_id, 201, LISTED);
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

/** The codes the popular list shows among the imported templates (uses ≥ 1) of a category. */
async function listedCodes(reader: TestUser, category: string): Promise<(string | null)[]> {
  const used = (items: Popular[]) => items.filter((item) => item.uses > 0);
  const { items } = await popularPages(
    reader,
    `/api/v1/templates/popular?limit=100&category=${category}`,
    (seen) => seen.some((item) => item.uses === 0),
  );
  return used(items).map((item) => item.code);
}

describe("what sharing lists", () => {
  it("a private template's code stays off the list unless its owner asks; sharing again keeps the choice", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const source = await createTemplate(alice, { name: "Quiet routine", category: "Personal" });
    const first = await shareOf(alice, source.template_id);
    expect(first.listed).toBe(false);
    await importCode(bob, first.code);
    expect(await listedCodes(bob, "Personal")).not.toContain(first.code);

    expect(await shareOf(alice, source.template_id, 200, LISTED)).toMatchObject({ listed: true });
    expect(await listedCodes(bob, "Personal")).toContain(first.code);
    // Revoked and shared again without a body: still listed, as its owner chose.
    await revokeOf(alice, source.template_id);
    const second = await shareOf(alice, source.template_id);
    expect(second).toMatchObject({ listed: true, uses: 1 });
    expect(await listedCodes(bob, "Personal")).toEqual(expect.arrayContaining([second.code]));
    expect(await listedCodes(bob, "Personal")).not.toContain(first.code);
    // Unlisted by asking, and still unlisted after another revoke and share.
    expect(await shareOf(alice, source.template_id, 200, { listed: false })).toMatchObject({ listed: false });
    await revokeOf(alice, source.template_id);
    const third = await shareOf(alice, source.template_id);
    expect(third.listed).toBe(false);
    expect(await listedCodes(bob, "Personal")).not.toContain(third.code);
    // Still importable by its code.
    await importCode(bob, third.code);
  });
});

describe("paging the popular list", () => {
  it("orders a tie on uses, times applied and created_at by id, one page each without skipping", async () => {
    const [owner, reader] = [await createUser(), await createUser()];
    // The same instant for both, and later than anything else in the list: they lead the unused ones.
    freezeClock(realNow() + 60_000);
    const twins: Template[] = [];
    for (const name of ["Twin one", "Twin two", "Twin three"]) {
      twins.push(await createTemplate(owner, { name, category: "Health", is_public: true }));
    }
    thawClock();
    expect(new Set(twins.map((t) => t.created_at)).size).toBe(1);
    const ids = await Promise.all(twins.map((t) => globalIdOf(owner.id, t.template_id)));
    const { items, pages } = await popularPages(
      reader,
      "/api/v1/templates/popular?limit=1&category=Health",
      (seen) => ids.every((id) => seen.some((item) => item.template_id === id)),
    );
    const at = ids.map((id) => items.findIndex((item) => item.template_id === id));
    const seen = items.slice(Math.min(...at), Math.max(...at) + 1).map((item) => item.template_id);
    // Next to each other, newest id first, each on its own page.
    expect(seen).toEqual([...ids].sort().reverse());
    expect(pages.every((page) => page.length === 1)).toBe(true);
  });

  it("a forged cursor of the right shape is a page like any other, never an error", async () => {
    const reader = await createUser();
    const cursorOf = (text: string) => base64UrlEncode(new TextEncoder().encode(text));
    const everything = await callJson<Popular[]>(
      `/api/v1/templates/popular?limit=3&cursor=${cursorOf("999999999999 999999999999 9999-99-99T99:99:99.999Z zzz")}`,
      200,
      { token: reader.token },
    );
    expect(everything).toEqual(
      await callJson<Popular[]>("/api/v1/templates/popular?limit=3", 200, { token: reader.token }),
    );
    for (const text of ["0 0 0 0", "000000000000 0 T 0", "5 5 +-:. A"]) {
      const res = await call(`/api/v1/templates/popular?cursor=${cursorOf(text)}`, { token: reader.token });
      expect(res.status, text).toBe(200);
      expect(Array.isArray(await res.json()), text).toBe(true);
    }
  });

  it("says in the contract that the order is live, so an item can move between pages", async () => {
    const doc = await (await call("/openapi.json")).json<{
      paths: Record<string, { get?: { description?: string } }>;
    }>();
    const description = doc.paths["/api/v1/templates/popular"]?.get?.description ?? "";
    expect(description).toMatch(/live/i);
    expect(description).toMatch(/move an item between pages/i);
  });
});

/** A D1 binding that records every statement the Worker binds: its SQL and its parameters. */
function d1Recording(seen: { sql: string; params: unknown[] }[]): D1Database {
  const wrap = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare") {
          return (sql: string) => {
            const statement = target.prepare(sql);
            return new Proxy(statement, {
              get(stmt, key) {
                const member: unknown = Reflect.get(stmt, key);
                if (typeof member !== "function") return member;
                if (key === "bind") {
                  return (...params: unknown[]) => {
                    seen.push({ sql, params });
                    return stmt.bind(...params);
                  };
                }
                return member.bind(stmt);
              },
            });
          };
        }
        if (prop === "withSession") return (...args: unknown[]) => wrap(value.apply(target, args) as T);
        return value.bind(target);
      },
    });
  return wrap(env.DB);
}

describe("the cost of the popular list", () => {
  it("reads a page off its index, and adds up steps for that page only", async () => {
    const reader = await createUser();
    const first = await call("/api/v1/templates/popular?limit=2", { token: reader.token });
    const next = /^<([^>]+)>; rel="next"$/.exec(first.headers.get("link") ?? "")?.[1] ?? "";
    for (const path of ["/api/v1/templates/popular?limit=2&category=Work", next]) {
      const seen: { sql: string; params: unknown[] }[] = [];
      const res = await callWith({ DB: d1Recording(seen) }, path, { token: reader.token });
      expect(res.status, path).toBe(200);
      const query = seen.find((statement) => /template_steps/.test(statement.sql));
      expect(query, path).toBeDefined();
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${query?.sql}`)
          .bind(...(query?.params ?? []))
          .all<{ detail: string }>()
      ).results.map((row) => row.detail);
      // The candidates come in order from the partial index: no scan of the shares, no sort of them all.
      expect(plan.join("\n"), path).toMatch(
        /(SCAN|SEARCH) task_templates USING INDEX task_templates_popular/,
      );
      expect(
        plan.filter((line) => /^SCAN (?!page)/.test(line) && !/task_templates_popular/.test(line)),
        path,
      ).toEqual([]);
    }
  });
});
