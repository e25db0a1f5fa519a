// Prints the README's table of what the local splitter makes of real-life tasks (medium energy,
// spiciness 3): `node scripts/split-table.mjs`. Bundles the TypeScript with esbuild in memory.
import { build } from "esbuild";

const bundle = await build({
  stdin: {
    contents:
      'export { splitLocally } from "./src/features/splitting/local-splitter";\n' +
      'export { REAL_LIFE_TASKS } from "./tests/helpers/real-life-tasks";',
    resolveDir: process.cwd(),
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  write: false,
  logLevel: "error",
});
const url = `data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`;
const { splitLocally, REAL_LIFE_TASKS } = await import(url);

const energy = process.argv[2] ?? "medium";
const difficulty = Number(process.argv[3] ?? 3);
console.log("| Task | Scope | Steps (minutes) |");
console.log("|---|---|---|");
for (const title of REAL_LIFE_TASKS) {
  const plan = splitLocally({ title, energy, difficulty });
  const list = (steps) => steps.map((s) => `${s.description} (${s.estimated_minutes})`).join("; ");
  const cell =
    plan.subtasks.length > 0
      ? plan.subtasks.map((s, i) => `**${i + 1}. ${s.title}:** ${list(s.suggested_steps)}`).join("<br>")
      : list(plan.suggested_steps);
  console.log(`| ${title} | ${plan.scope} | ${cell} |`);
}
