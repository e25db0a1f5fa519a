// `npm run bench:social [-- --runs N]`: how long drawing one share card takes (SVG built, resvg's
// WebAssembly rendering it to a 1200×630 PNG with the bundled fonts), per kind, in wall and CPU time;
// and writes one PNG of each kind to .cards/ to look at. Runs the Worker's own card code (bundled
// with esbuild) and the same resvg .wasm in Node's V8, the engine workerd runs it in.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, ".cards");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 30;

const bundled = await build({
  stdin: {
    contents: `export { cardSvg } from "./src/features/social/card-svg.ts";
      export { cardContent } from "./src/features/social/card-content.ts";`,
    resolveDir: ROOT,
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
});
const { cardSvg, cardContent } = await import(
  `data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString("base64")}`
);

const require = createRequire(import.meta.url);
const { initWasm, Resvg } = await import("@resvg/resvg-wasm");
const wasm = readFileSync(require.resolve("@resvg/resvg-wasm/index_bg.wasm"));
const fonts = ["DejaVuSans-Latin.ttf", "DejaVuSans-Bold-Latin.ttf"].map(
  (f) => new Uint8Array(readFileSync(join(ROOT, "assets/fonts", f))),
);

const coldStart = performance.now();
await initWasm(await WebAssembly.compile(wasm));
const coldMs = performance.now() - coldStart;

const fox = { name: "Sorrel", species: "fox", level: 6, stage: 2, mood: "happy", seed: "bench:fox" };
const samples = {
  level: { v: 1, kind: "level", level: 7, total_xp: 1234, creature: fox },
  streak: { v: 1, kind: "streak", current_days: 12, longest_days: 30, creature: null },
  achievement: {
    v: 1,
    kind: "achievement",
    badge_id: "streak_silver",
    name: "Steady Flame",
    description: "Keep a 7-day streak",
    tier: "silver",
    unlocked_at: new Date().toISOString(),
    creature: fox,
  },
  creature: {
    v: 1,
    kind: "creature",
    creature: { ...fox, name: "Ember", species: "dragon", stage: 3, level: 14, seed: "bench:dragon" },
  },
  task: {
    v: 1,
    kind: "task",
    title: "Write the quarterly report and send it to the board before Friday's meeting 🎉",
    status: "completed",
    completed_steps: 5,
    total_steps: 5,
    creature: fox,
  },
};

function render(svg) {
  const renderer = new Resvg(svg, {
    font: { fontBuffers: fonts, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" },
    fitTo: { mode: "original" },
  });
  const image = renderer.render();
  const png = image.asPng();
  image.free();
  renderer.free();
  return png;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
mkdirSync(OUT, { recursive: true });
const rows = [];
for (const [kind, snapshot] of Object.entries(samples)) {
  const wall = [];
  const cpu = [];
  let png;
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    png = render(cardSvg(cardContent(snapshot)));
    const c = process.cpuUsage(c0);
    // The first runs warm the engine's tiers up; they are reported apart as the first render.
    if (i === 0)
      rows.push({ kind: `${kind} (first)`, wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 });
    if (i < 3) continue;
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  writeFileSync(join(OUT, `${kind}.png`), png);
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  rows.push({ kind, wall: pct(wall, 50), wallP95: pct(wall, 95), cpu: pct(cpu, 50), bytes: png.length });
}

const ms = (n) => (n === undefined ? "" : n.toFixed(1));
console.log(`resvg-wasm instantiate (cold start): ${coldMs.toFixed(1)} ms; ${RUNS} renders per kind`);
console.log("| card | wall p50 (ms) | wall p95 (ms) | CPU p50 (ms) | PNG bytes |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows)
  console.log(`| ${r.kind} | ${ms(r.wall)} | ${ms(r.wallP95)} | ${ms(r.cpu)} | ${r.bytes ?? ""} |`);
console.log("wrote .cards/{level,streak,achievement,creature,task}.png");
