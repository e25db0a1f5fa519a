import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { download, exportAccount } from "./helpers/export";
import { ledgerOf, profileOf } from "./helpers/gamification";
import { commit, drainImports, getImport, type Import, rowsOf, upload } from "./helpers/imports";
import { settle } from "./helpers/outbox";
import { adoptPet, careFor, giveTreats, petOf } from "./helpers/pets";
import { restoreView, seedAccount, settleAll } from "./helpers/restore";
import { completeStep, createTask, type Task } from "./helpers/tasks";
import { createTemplate } from "./helpers/templates";

/** Uploads an export file (or a link) for a restore; answers the response. */
function uploadRestore(user: TestUser, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return upload(user, "export", body, {
    headers: { "content-type": "application/octet-stream", ...headers },
  });
}

async function restore(user: TestUser, body: string | Uint8Array, mode: "merge" | "replace" = "merge") {
  const res = await uploadRestore(user, body);
  const text = await res.text();
  if (res.status !== 201) throw new Error(`restore upload: ${res.status} ${text}`);
  const previewed = JSON.parse(text) as Import;
  const { sent } = await commit(user, previewed.import_id, mode);
  await drainImports(sent);
  await settleAll(user);
  return { previewed, done: await getImport(user, previewed.import_id) };
}

describe("restoring an export", () => {
  let source: TestUser;
  let file: string;
  let link: string;
  let view: Awaited<ReturnType<typeof restoreView>>;

  beforeAll(async () => {
    source = await createUser({ timezone: "Europe/Paris" });
    await seedAccount(source);
    view = await restoreView(source);
    const done = await exportAccount(source, "json");
    link = done.download_url ?? "";
    file = await (await download(link)).text();
  });

  it("previews what the file holds, table by table, with its first tasks", async () => {
    const fresh = await createUser();
    const res = await uploadRestore(fresh, file);
    expect(res.status).toBe(201);
    const dto = (await res.json()) as Import;
    expect(dto.source).toBe("export");
    expect(dto.status).toBe("previewed");
    expect(dto.preview.counts.tasks).toBeGreaterThanOrEqual(3);
    expect(dto.preview.counts.tables?.micro_steps).toBe(dto.preview.counts.steps);
    expect(dto.preview.counts.tables?.xp_ledger).toBeGreaterThan(0);
    expect(dto.preview.first_items.map((i) => i.title)).toContain("Plan the party");
    expect(dto.preview.counts.duplicates).toBe(0);
  });

  it("gives a fresh account the same data, seen through the API, modulo ids", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    const { done } = await restore(fresh, file);
    expect(done.status).toBe("completed");
    expect(done.result?.created).toBeGreaterThanOrEqual(3);
    expect(await restoreView(fresh)).toEqual(view);
    // Nothing changed in the source since the export: the file is the account as it is.
    expect(await restoreView(source)).toEqual(view);
  });

  it("changes nothing when the same file is restored again (XP exactly once, no duplicate task)", async () => {
    const fresh = await createUser({ timezone: "Europe/Paris" });
    await restore(fresh, file);
    const once = await restoreView(fresh);
    const xp = (await profileOf(fresh)).total_xp;
    const { previewed, done } = await restore(fresh, file);
    expect(previewed.preview.counts.duplicates).toBe(previewed.preview.counts.tasks);
    expect(done.result?.created).toBe(0);
    expect(await restoreView(fresh)).toEqual(once);
    expect((await profileOf(fresh)).total_xp).toBe(xp);
  });
});
