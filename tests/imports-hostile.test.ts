/**
 * Files built to hurt: sizes that made the preview or the commit's final pass quadratic (seconds of
 * CPU per megabyte, past the 30 s limit well under the 10 MiB cap), and characters that made the
 * stored parts many times the upload. Each must stay fast and small, and say what it left out.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dependencyEdgesToCut } from "../src/features/imports/cycles";
import worker from "../src/index";
import { cleanUpImports } from "../src/jobs/imports-consumer";
import { BASE, callJson, createUser } from "./helpers/api";
import { allTasks, commit, drainImports, filesOf, getImport, preview, rowsOf } from "./helpers/imports";

/** Wall time of `run`, measured across an I/O so the runtime's clock has moved on. */
async function timed<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  await env.FILES.head("clock");
  return { value, ms: Date.now() - started };
}

describe("references to one id no row has", () => {
  it("80,000 of them preview in under 2 s, the first 10 listed and the rest counted", async () => {
    const user = await createUser();
    const refs = Array.from({ length: 80_000 }, () => "m").join(";");
    const file = `id,title,depends_on\n1,Only row,"${refs}"\n`;
    const { value: job, ms } = await timed(() =>
      preview(user, "csv", file, { id: "id", title: "title", depends_on: "depends_on" }),
    );
    expect(ms).toBeLessThan(2_000);
    expect(job.preview.counts.tasks).toBe(1);
    // 10 places, then one problem for the 79,990 others.
    expect(job.preview.counts.problems).toBe(11);
    expect(job.preview.problems.at(-1)).toEqual({
      row: 2,
      line: 2,
      field: "depends_on",
      message: 'No row has the id "m": 79990 more references to it, from here on, are left out too.',
      skipped: false,
    });
    expect(job.preview.first_items[0]?.depends_on).toEqual(["id:m"]);
  });
});

describe("a Trello card with 80,000 checklists", () => {
  it("previews in under 2 s", async () => {
    const user = await createUser();
    const card = "0123456789abcdef01234567";
    const checklists = Array.from(
      { length: 80_000 },
      (_, i) => `{"idCard":"${card}","pos":${i},"checkItems":[]}`,
    ).join(",");
    const board = `{"lists":[{"id":"l","name":"To do","pos":1}],"cards":[{"id":"${card}","name":"Big","idList":"l","pos":1}],"checklists":[${checklists}]}`;
    const { value: job, ms } = await timed(() => preview(user, "trello", board));
    expect(ms).toBeLessThan(2_000);
    expect(job.preview.counts.tasks).toBe(1);
  });
});

describe("the commit's loop cutting", () => {
  it("takes one task with 80,000 dependency edges in well under a second", async () => {
    const edges = Array.from({ length: 80_000 }, (_, i) => ({ id: "hub", dependsOn: `t${i}` }));
    edges.push({ id: "t7", dependsOn: "hub" });
    const { value: cut, ms } = await timed(() => dependencyEdgesToCut(edges));
    expect(cut).toEqual([{ id: "t7", dependsOn: "hub" }]);
    expect(ms).toBeLessThan(1_000);
  });
});

/** Bytes of everything an import keeps in R2 besides the upload itself. */
async function partBytes(userId: string): Promise<number> {
  const listed = await env.FILES.list({ prefix: `imports/${userId}/` });
  return listed.objects.filter((o) => o.key.includes("/items/")).reduce((n, o) => n + o.size, 0);
}

describe("control characters", () => {
  it("are dropped (tab and line break kept), counted as one problem for the file, so the parts stay smaller than the upload", async () => {
    const user = await createUser();
    const noise = "\u0001".repeat(2_000);
    const rows = Array.from({ length: 500 }, (_, i) => `Task ${i}${noise},"a\tb\r\nc${noise}\u001b"`);
    const file = `title,notes\n${rows.join("\n")}\n`;
    const bytes = new TextEncoder().encode(file).length;
    const job = await preview(user, "csv", file, { title: "title", notes: "notes" });
    expect(job.preview.counts).toMatchObject({ tasks: 500, problems: 1 });
    expect(job.preview.problems).toEqual([
      {
        row: 2,
        line: 2,
        message:
          "Control characters (other than tabs and line breaks) were removed from 500 tasks, this one the first.",
        skipped: false,
      },
    ]);
    expect(job.preview.first_items[0]).toMatchObject({ title: "Task 0", description: "a\tb\nc" });
    expect(await partBytes(user.id)).toBeLessThan(bytes / 10);
  });
});

describe("a file of long items", () => {
  it("is stored in parts of a few megabytes, and committed whole from them", async () => {
    const user = await createUser();
    // 500 descriptions of 9,000 characters, every one of them a quote (two characters in JSON).
    const notes = `"${'""'.repeat(9_000)}"`;
    const rows = Array.from({ length: 500 }, (_, i) => `Task ${i},${notes}`);
    const job = await preview(user, "csv", `title,notes\n${rows.join("\n")}\n`, {
      title: "title",
      notes: "notes",
    });
    const listed = await env.FILES.list({ prefix: `imports/${user.id}/${job.import_id}/items/` });
    expect(listed.objects.length).toBeGreaterThan(1);
    for (const part of listed.objects) expect(part.size).toBeLessThan(4_500_000);
    const { sent } = await commit(user, job.import_id, "merge");
    await drainImports(sent);
    const done = await getImport(user, job.import_id);
    expect(done.status).toBe("completed");
    const tasks = await allTasks(user);
    expect(tasks).toHaveLength(500);
    expect(tasks.every((t) => t.description === '"'.repeat(9_000))).toBe(true);
  });
});

describe("an upload that dies after storing its first files", () => {
  it("leaves a row nobody sees, and housekeeping deletes it with the files an hour on", async () => {
    const user = await createUser();
    // The upload's own put fails, and so does every delete: as if the request were killed there.
    const dying = new Proxy(env.FILES, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "delete") return async () => Promise.reject(new Error("killed"));
        if (prop === "put")
          return async (key: string, ...rest: unknown[]) => {
            if (key.includes("/upload.")) throw new Error("killed");
            return value.call(target, key, ...rest);
          };
        return value.bind(target);
      },
    });
    const request = new Request(
      `${BASE}/api/v1/import?source=csv&mapping=${encodeURIComponent('{"title":"title"}')}`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "text/csv" },
        body: "title\nOne\nTwo\n",
      },
    );
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, { ...env, FILES: dying }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(500);
    const left = await filesOf(user.id);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/\/items\/00000\.ndjson$/);
    // Not an import anyone can see, commit or list.
    expect(await callJson<unknown[]>("/api/v1/import", 200, { token: user.token })).toEqual([]);
    expect(await rowsOf("imports", user.id)).toBe(1);

    await cleanUpImports(env, Date.now());
    expect(await filesOf(user.id)).toHaveLength(1);
    await cleanUpImports(env, Date.now() + 61 * 60_000);
    expect(await filesOf(user.id)).toEqual([]);
    expect(await rowsOf("imports", user.id)).toBe(0);
  });
});
