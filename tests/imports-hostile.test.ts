/**
 * Files built to hurt: sizes that made the preview or the commit's final pass quadratic (seconds of
 * CPU per megabyte, past the 30 s limit well under the 10 MiB cap), and characters that made the
 * stored parts many times the upload. Each must stay fast and small, and say what it left out.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dependencyEdgesToCut } from "../src/features/imports/cycles";
import { createUser } from "./helpers/api";
import { preview } from "./helpers/imports";

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
