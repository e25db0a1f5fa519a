// Prints coverage per feature folder, Durable Object and shared folder from the json-summary report
// `npm run test:unit` writes (coverage/coverage-summary.json): the figures vitest.config.ts holds each to.
import { readFileSync } from "node:fs";
import { relative } from "node:path";

const summary = JSON.parse(readFileSync("coverage/coverage-summary.json", "utf8"));

/** The unit a file is held to: src/features/<name>, durable-objects/<file>, or its top folder. */
function unitOf(file) {
  const path = relative(process.cwd(), file);
  const feature = /^src\/features\/([^/]+)\//.exec(path);
  if (feature) return `src/features/${feature[1]}`;
  if (path.startsWith("durable-objects/")) return path;
  return path.split("/").slice(0, 2).join("/").replace(/\.ts$/, "");
}

const units = new Map();
for (const [file, figures] of Object.entries(summary)) {
  if (file === "total") continue;
  const unit = units.get(unitOf(file)) ?? { lines: [0, 0], branches: [0, 0] };
  unit.lines[0] += figures.lines.covered;
  unit.lines[1] += figures.lines.total;
  unit.branches[0] += figures.branches.covered;
  unit.branches[1] += figures.branches.total;
  units.set(unitOf(file), unit);
}

const pct = ([covered, total]) => (total === 0 ? 100 : (100 * covered) / total);
const rows = [...units].sort((a, b) => pct(a[1].branches) - pct(b[1].branches));
console.log(`${"unit".padEnd(44)} ${"lines".padStart(7)} ${"branches".padStart(9)}`);
for (const [name, unit] of rows) {
  const mark = pct(unit.lines) < 90 || pct(unit.branches) < 85 ? "  below" : "";
  console.log(
    `${name.padEnd(44)} ${pct(unit.lines).toFixed(2).padStart(7)} ${pct(unit.branches).toFixed(2).padStart(9)}${mark}`,
  );
}
