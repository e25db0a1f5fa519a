import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createUser } from "./helpers/api";
import { download, exportAccount } from "./helpers/export";
import { commit, drainImports, getImport, type Import, upload } from "./helpers/imports";
import { restoreView, seedAccount, settleAll } from "./helpers/restore";

const taskSpec = fc.record({
  title: fc.stringMatching(/^[A-Za-zÀ-ÿ0-9 ,.'"!?🎉-]{1,40}$/u).map((t) => t.trim() || "Untitled"),
  steps: fc.array(
    fc.stringMatching(/^[A-Za-z0-9 é]{1,30}$/).map((s) => s.trim() || "Step"),
    { maxLength: 4 },
  ),
  done: fc.nat({ max: 4 }),
  after: fc.option(fc.nat({ max: 10 }), { nil: undefined }),
});

describe("export → restore into a fresh account", () => {
  it("gives the same account, seen through the API, for generated accounts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(taskSpec, { maxLength: 5 })
          .map((tasks) => tasks.map((t, i) => ({ ...t, title: `${i + 1}. ${t.title}` }))),
        fc.boolean(),
        async (tasks, pet) => {
          const source = await createUser({ timezone: "America/New_York" });
          await seedAccount(source, { tasks, pet });
          const view = await restoreView(source);
          const done = await exportAccount(source, "json");
          const file = await (await download(done.download_url ?? "")).text();
          const fresh = await createUser({ timezone: "America/New_York" });
          const res = await upload(fresh, "export", file);
          expect(res.status).toBe(201);
          const previewed = (await res.json()) as Import;
          const { sent } = await commit(fresh, previewed.import_id, "merge");
          await drainImports(sent, { chunkItems: 7 });
          await settleAll(fresh);
          expect((await getImport(fresh, previewed.import_id)).status).toBe("completed");
          expect(await restoreView(fresh)).toEqual(view);
        },
      ),
      { numRuns: 4 },
    );
  }, 180_000);
});
