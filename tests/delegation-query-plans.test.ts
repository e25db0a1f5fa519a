import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { BASE, createUser } from "./helpers/api";
import { registerAgent } from "./helpers/delegation";
import { createTask } from "./helpers/tasks";

interface Sent {
  sql: string;
  params: unknown[];
}

/** `db` noting every statement it is sent (alone or in a batch) with its parameters. */
function recording(db: D1Database, sent: Sent[]): D1Database {
  const known = new WeakMap<object, Sent>();
  const wrap = <T extends D1Database | D1DatabaseSession>(target: T): T =>
    new Proxy(target, {
      get(inner, prop) {
        const value: unknown = Reflect.get(inner, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare") {
          return (query: string) => {
            const stmt = value.call(inner, query) as D1PreparedStatement;
            const bind = stmt.bind.bind(stmt);
            known.set(stmt, { sql: query, params: [] });
            return Object.assign(stmt, {
              bind: (...params: unknown[]) => {
                const bound = bind(...params);
                known.set(bound, { sql: query, params });
                return bound;
              },
            });
          };
        }
        if (prop === "batch") {
          return (list: D1PreparedStatement[]) => {
            for (const s of list) sent.push(known.get(s) ?? { sql: "", params: [] });
            return value.call(inner, list);
          };
        }
        if (prop === "withSession") return (...args: unknown[]) => wrap(value.apply(inner, args));
        return value.bind(inner);
      },
    });
  return wrap(db);
}

async function partialIndexes(): Promise<Set<string>> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'",
  ).all<{ name: string }>();
  return new Set(results.map((r) => r.name));
}

describe("a delegation's statements", () => {
  it("reach every row through an index: no statement reads a whole table, however many assignments exist", async () => {
    const user = await createUser();
    for (let i = 0; i < 5; i++) await registerAgent(user, { agent_type: "backend" });
    const task = await createTask(user, { title: "Refactor the billing module" });
    const sent: Sent[] = [];
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/api/v1/delegation/delegate`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
        body: JSON.stringify({
          task_id: task.task_id,
          delegation_mode: "DELEGATE",
          prefer_agent_type: "backend",
        }),
      }),
      { ...env, DB: recording(env.DB, sent) },
      ctx,
    );
    expect(res.status).toBe(200);
    await waitOnExecutionContext(ctx);

    const partial = await partialIndexes();
    // A scan is allowed over a partial index only (it holds just the rows it is about).
    const wholeTable = (detail: string) => {
      if (!detail.startsWith("SCAN ")) return false;
      const index = / USING (?:COVERING )?INDEX (\S+)/.exec(detail)?.[1];
      return index === undefined || !partial.has(index);
    };
    const claims = sent.filter((s) => /^update "agents"/i.test(s.sql));
    expect(claims.length).toBeGreaterThan(0);
    for (const statement of sent) {
      if (!statement.sql) continue;
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
        .bind(...statement.params)
        .all<{ detail: string }>();
      const details = results.map((r) => r.detail);
      expect(details.filter(wholeTable), `${statement.sql}\n${details.join("\n")}`).toEqual([]);
    }
  });
});
