// `node scripts/render-creatures.mjs [seed…]`: draws creatures to look at them, as SVG and (when sharp is
// installed, as it is with the test tooling) PNG, into .creatures/. One grid per seed: species × stage,
// and one of every mood for a fox. Not part of the API; a tool for checking the pictures by eye.
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, ".creatures");
mkdirSync(OUT, { recursive: true });

const bundled = await build({
  entryPoints: [join(ROOT, "src/features/pets/portrait.ts")],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
});
const { portraitSvg } = await import(
  `data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString("base64")}`
);

const species = ["dog", "cat", "dragon", "owl", "fox"];
const moods = ["happy", "playful", "hungry", "sleepy", "sad"];
const seeds = process.argv.slice(2).length ? process.argv.slice(2) : ["alpha", "bravo", "charlie"];

/** Places cells (SVG strings, 240×240) in a grid. */
function grid(cells, columns) {
  const rows = Math.ceil(cells.length / columns);
  const inner = cells
    .map((svg, i) => {
      const x = (i % columns) * 250;
      const y = Math.floor(i / columns) * 250;
      return `<g transform="translate(${x} ${y})">${svg.replace(/^<svg[^>]*>/, "").replace(/<\/svg>$/, "")}</g>`;
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * 250}" height="${rows * 250}">${inner}</svg>`;
}

let sharp;
try {
  sharp = createRequire(import.meta.url)("sharp");
} catch {
  console.log("sharp is not installed: writing SVG only");
}

async function save(name, svg) {
  writeFileSync(join(OUT, `${name}.svg`), svg);
  if (sharp)
    await sharp(Buffer.from(svg))
      .png()
      .toFile(join(OUT, `${name}.png`));
  console.log(`wrote .creatures/${name}.${sharp ? "{svg,png}" : "svg"}`);
}

for (const seed of seeds) {
  const cells = [];
  for (const stage of [1, 2, 3])
    for (const s of species)
      cells.push(portraitSvg({ seed: `${seed}-${s}`, species: s, stage, mood: "happy" }));
  await save(`grid-${seed}`, grid(cells, 5));
}
await save(
  "moods-fox",
  grid(
    moods.map((mood) => portraitSvg({ seed: "alpha-fox", species: "fox", stage: 2, mood })),
    5,
  ),
);
await save(
  "moods-dragon",
  grid(
    moods.map((mood) => portraitSvg({ seed: "alpha-dragon", species: "dragon", stage: 3, mood })),
    5,
  ),
);
