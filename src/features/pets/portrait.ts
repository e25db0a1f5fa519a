/**
 * A creature's picture: an SVG drawn from its seed (colours and features), species (shapes), stage
 * (proportions: a big-headed baby grows into an adult with wings, tails and tufts) and mood (the face).
 * The same creature, stage and mood always draw the same bytes. Safe by construction: only shapes and
 * one gradient — no script, no external reference, no text from a user.
 */
import { seededRandom, seedOf } from "../../lib/seeded-random";
import type { Mood } from "./care";
import type { PetSpecies, Stage } from "./growth";

interface Colour {
  h: number;
  s: number;
  l: number;
}

const hsl = (c: Colour, dl = 0, ds = 0) =>
  `hsl(${Math.round(c.h)} ${Math.round(Math.min(100, Math.max(0, c.s + ds)))}% ${Math.round(Math.min(96, Math.max(6, c.l + dl)))}%)`;

const f = (n: number) => (Math.round(n * 10) / 10).toString();

function el(tag: string, attrs: Record<string, string | number>, children = ""): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => `${k}="${typeof v === "number" ? f(v) : v.replace(/[&<>"]/g, "")}"`)
    .join(" ");
  return children ? `<${tag} ${a}>${children}</${tag}>` : `<${tag} ${a}/>`;
}

type Next = () => number;
const between = (next: Next, lo: number, hi: number) => lo + next() * (hi - lo);
const choose = <T>(next: Next, list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;

const COATS: Record<PetSpecies, readonly Colour[]> = {
  dog: [
    { h: 30, s: 50, l: 50 },
    { h: 38, s: 60, l: 62 },
    { h: 24, s: 40, l: 36 },
    { h: 35, s: 20, l: 88 },
  ],
  cat: [
    { h: 28, s: 75, l: 58 },
    { h: 220, s: 8, l: 55 },
    { h: 35, s: 35, l: 80 },
    { h: 260, s: 10, l: 28 },
  ],
  dragon: [
    { h: 140, s: 55, l: 45 },
    { h: 170, s: 60, l: 42 },
    { h: 275, s: 50, l: 52 },
    { h: 355, s: 65, l: 50 },
    { h: 205, s: 65, l: 50 },
  ],
  owl: [
    { h: 30, s: 35, l: 45 },
    { h: 30, s: 8, l: 60 },
    { h: 45, s: 20, l: 88 },
    { h: 20, s: 40, l: 33 },
  ],
  fox: [
    { h: 22, s: 85, l: 52 },
    { h: 22, s: 85, l: 52 },
    { h: 32, s: 45, l: 62 },
    { h: 210, s: 10, l: 90 },
  ],
};

interface Layout {
  head: { x: number; y: number; r: number };
  body: { x: number; y: number; rx: number; ry: number };
}

/** Babies are mostly head; adults are mostly body. */
const LAYOUTS: Record<Stage, Layout> = {
  1: { head: { x: 120, y: 112, r: 58 }, body: { x: 120, y: 176, rx: 40, ry: 30 } },
  2: { head: { x: 120, y: 100, r: 50 }, body: { x: 120, y: 168, rx: 50, ry: 40 } },
  3: { head: { x: 120, y: 90, r: 46 }, body: { x: 120, y: 162, rx: 60, ry: 50 } },
};

interface Parts {
  back: string[];
  body: string[];
  head: string[];
  front: string[];
}

function eyes(mood: Mood, L: Layout, gap: number, size: number, ink: string): string {
  const { x, y, r } = L.head;
  const ey = y + r * 0.02;
  const left = x - gap;
  const right = x + gap;
  const open = (cx: number) =>
    el("ellipse", { cx, cy: ey, rx: size, ry: size * 1.15, fill: ink }) +
    el("circle", { cx: cx + size * 0.35, cy: ey - size * 0.4, r: size * 0.35, fill: "#fff" });
  const closed = (cx: number) =>
    el("path", {
      d: `M${f(cx - size)} ${f(ey)} Q${f(cx)} ${f(ey + size * 0.9)} ${f(cx + size)} ${f(ey)}`,
      fill: "none",
      stroke: ink,
      "stroke-width": 3,
      "stroke-linecap": "round",
    });
  switch (mood) {
    case "sleepy":
      return closed(left) + closed(right);
    case "playful":
      return (
        open(left) +
        el("path", {
          d: `M${f(right - size)} ${f(ey)} Q${f(right)} ${f(ey - size)} ${f(right + size)} ${f(ey)}`,
          fill: "none",
          stroke: ink,
          "stroke-width": 3,
          "stroke-linecap": "round",
        })
      );
    case "sad": {
      const brow = (cx: number, dir: number) =>
        el("path", {
          d: `M${f(cx - size * 1.2)} ${f(ey - size * 1.9 + dir * 3)} L${f(cx + size * 1.2)} ${f(ey - size * 1.9 - dir * 3)}`,
          stroke: ink,
          "stroke-width": 2.5,
          "stroke-linecap": "round",
        });
      // Sad, not cross: the inner ends of the brows rise.
      return open(left) + open(right) + brow(left, 1) + brow(right, -1);
    }
    default:
      return open(left) + open(right);
  }
}

function mouth(mood: Mood, mx: number, my: number, w: number, ink: string): string {
  const line = { fill: "none", stroke: ink, "stroke-width": 2.5, "stroke-linecap": "round" } as const;
  switch (mood) {
    case "happy":
      return el("path", {
        d: `M${f(mx - w)} ${f(my)} Q${f(mx)} ${f(my + w * 0.9)} ${f(mx + w)} ${f(my)}`,
        ...line,
      });
    case "playful":
      return (
        el("path", {
          d: `M${f(mx - w)} ${f(my)} Q${f(mx)} ${f(my + w * 1.3)} ${f(mx + w)} ${f(my)} Z`,
          fill: ink,
        }) + el("ellipse", { cx: mx, cy: my + w * 0.55, rx: w * 0.45, ry: w * 0.35, fill: "#f07a8a" })
      );
    case "hungry":
      return (
        el("ellipse", { cx: mx, cy: my + w * 0.3, rx: w * 0.45, ry: w * 0.55, fill: ink }) +
        el("path", {
          d: `M${f(mx + w * 0.5)} ${f(my + w * 0.6)} q3 6 0 10 q-3 -4 0 -10`,
          fill: "#8fd0ff",
        })
      );
    case "sad":
      return el("path", {
        d: `M${f(mx - w)} ${f(my + w * 0.6)} Q${f(mx)} ${f(my - w * 0.2)} ${f(mx + w)} ${f(my + w * 0.6)}`,
        ...line,
      });
    case "sleepy":
      return el("ellipse", { cx: mx, cy: my + w * 0.25, rx: w * 0.3, ry: w * 0.2, fill: ink });
  }
}

function moodExtras(mood: Mood, L: Layout, ink: string): string {
  const { x, y, r } = L.head;
  if (mood === "sleepy") {
    const z = (zx: number, zy: number, s: number) =>
      el("path", {
        d: `M${f(zx)} ${f(zy)} h${f(s)} l${f(-s)} ${f(s)} h${f(s)}`,
        fill: "none",
        stroke: ink,
        "stroke-width": 2.5,
        "stroke-linejoin": "round",
        opacity: 0.6,
      });
    return z(x + r * 0.9, y - r * 0.9, 10) + z(x + r * 1.2, y - r * 1.3, 14);
  }
  if (mood === "sad") {
    return el("path", {
      d: `M${f(x - r * 0.42)} ${f(y + r * 0.22)} q-5 9 0 13 q5 -4 0 -13`,
      fill: "#8fd0ff",
    });
  }
  if (mood === "happy" || mood === "playful") {
    return (
      el("circle", { cx: x - r * 0.55, cy: y + r * 0.3, r: r * 0.13, fill: "#ff8fa3", opacity: 0.45 }) +
      el("circle", { cx: x + r * 0.55, cy: y + r * 0.3, r: r * 0.13, fill: "#ff8fa3", opacity: 0.45 })
    );
  }
  return "";
}

function dog(
  next: Next,
  L: Layout,
  stage: Stage,
  coat: Colour,
  parts: Parts,
): { eyeGap: number; mouthY: number } {
  const { x, y, r } = L.head;
  const ear = hsl(coat, -15);
  const earLen = between(next, 0.75, 0.95) * r;
  for (const side of [-1, 1]) {
    parts.head.push(
      el("ellipse", {
        cx: x + side * r * 0.82,
        cy: y + r * 0.1,
        rx: r * 0.28,
        ry: earLen * 0.7,
        fill: ear,
        transform: `rotate(${side * 18} ${f(x + side * r * 0.82)} ${f(y + r * 0.1)})`,
      }),
    );
  }
  parts.back.push(
    el("path", {
      d: `M${f(L.body.x + L.body.rx * 0.8)} ${f(L.body.y - 5)} q${f(25 + stage * 5)} ${f(-20 - stage * 6)} ${f(18)} ${f(-40 - stage * 6)}`,
      fill: "none",
      stroke: hsl(coat, -8),
      "stroke-width": 10,
      "stroke-linecap": "round",
    }),
  );
  if (next() < 0.5) {
    parts.head.push(
      el("ellipse", {
        cx: x + r * 0.35,
        cy: y - r * 0.05,
        rx: r * 0.32,
        ry: r * 0.28,
        fill: hsl(coat, -20),
        opacity: 0.8,
      }),
    );
  }
  parts.head.push(el("ellipse", { cx: x, cy: y + r * 0.38, rx: r * 0.42, ry: r * 0.3, fill: hsl(coat, 24) }));
  parts.head.push(el("ellipse", { cx: x, cy: y + r * 0.24, rx: r * 0.13, ry: r * 0.09, fill: "#2b1d16" }));
  if (stage === 3) {
    parts.front.push(
      el("rect", { x: x - r * 0.55, y: y + r * 0.86, width: r * 1.1, height: 8, rx: 4, fill: "#d94a4a" }),
    );
    parts.front.push(el("circle", { cx: x, cy: y + r * 0.86 + 14, r: 5, fill: "#f2c14e" }));
  }
  return { eyeGap: r * 0.35, mouthY: y + r * 0.42 };
}

function cat(
  next: Next,
  L: Layout,
  stage: Stage,
  coat: Colour,
  parts: Parts,
): { eyeGap: number; mouthY: number } {
  const { x, y, r } = L.head;
  for (const side of [-1, 1]) {
    const bx = x + side * r * 0.55;
    const tip = `${f(x + side * r * 0.8)} ${f(y - r * 1.25)}`;
    parts.head.push(
      el("path", {
        d: `M${f(bx - r * 0.3)} ${f(y - r * 0.6)} L${tip} L${f(bx + r * 0.3)} ${f(y - r * 0.75)} Z`,
        fill: hsl(coat),
      }),
      el("path", {
        d: `M${f(bx - r * 0.15)} ${f(y - r * 0.7)} L${f(x + side * r * 0.77)} ${f(y - r * 1.08)} L${f(bx + r * 0.18)} ${f(y - r * 0.78)} Z`,
        fill: "#f3a6b5",
      }),
    );
  }
  const stripes = Math.floor(next() * 4);
  for (let i = 0; i < stripes; i++) {
    parts.head.push(
      el("path", {
        d: `M${f(x - 8 + i * 8)} ${f(y - r * 0.92)} l${f(-2 + i * 2)} ${f(r * 0.28)}`,
        stroke: hsl(coat, -22),
        "stroke-width": 4,
        "stroke-linecap": "round",
      }),
    );
  }
  parts.head.push(el("path", { d: `M${f(x - 6)} ${f(y + r * 0.22)} h12 l-6 7 Z`, fill: "#f08a9a" }));
  for (const side of [-1, 1]) {
    for (const dy of [0.28, 0.4]) {
      parts.front.push(
        el("path", {
          d: `M${f(x + side * r * 0.25)} ${f(y + r * dy)} l${f(side * r * 0.55)} ${f((dy - 0.34) * r * 0.8)}`,
          stroke: "#3a3a3a",
          "stroke-width": 1.5,
          opacity: 0.7,
        }),
      );
    }
  }
  parts.back.push(
    el("path", {
      d: `M${f(L.body.x - L.body.rx * 0.85)} ${f(L.body.y + 5)} q${f(-30 - stage * 4)} ${f(-10)} ${f(-18)} ${f(-45 - stage * 8)}`,
      fill: "none",
      stroke: hsl(coat, -6),
      "stroke-width": 9,
      "stroke-linecap": "round",
    }),
  );
  return { eyeGap: r * 0.36, mouthY: y + r * 0.34 };
}

function dragon(
  next: Next,
  L: Layout,
  stage: Stage,
  coat: Colour,
  parts: Parts,
): { eyeGap: number; mouthY: number } {
  const { x, y, r } = L.head;
  const horn = hsl({ h: 40, s: 35, l: 82 });
  for (const side of [-1, 1]) {
    parts.head.push(
      el("path", {
        d: `M${f(x + side * r * 0.35)} ${f(y - r * 0.8)} q${f(side * r * 0.25)} ${f(-r * 0.45)} ${f(side * r * 0.5)} ${f(-r * 0.6)} q${f(-side * r * 0.05)} ${f(r * 0.35)} ${f(-side * r * 0.25)} ${f(r * 0.7)} Z`,
        fill: horn,
      }),
    );
  }
  const spikes = 3 + Math.floor(next() * 3);
  for (let i = 0; i < spikes; i++) {
    // A crest along the top of the head.
    const a = Math.PI * (0.36 + (i / Math.max(1, spikes - 1)) * 0.28);
    const sx = x - Math.cos(a) * r * 0.98;
    const sy = y - Math.sin(a) * r * 0.98;
    parts.head.push(
      el("path", {
        d: `M${f(sx - 6)} ${f(sy + 3)} L${f(sx)} ${f(sy - 12)} L${f(sx + 6)} ${f(sy + 3)} Z`,
        fill: hsl(coat, -18),
      }),
    );
  }
  if (stage >= 2) {
    // The adult's wings fill the frame without leaving it.
    const span = stage === 3 ? 0.95 : 0.8;
    for (const side of [-1, 1]) {
      const bx = L.body.x + side * L.body.rx * 0.5;
      const by = L.body.y - L.body.ry * 0.7;
      parts.back.push(
        el("path", {
          d: `M${f(bx)} ${f(by)} q${f(side * 50 * span)} ${f(-60 * span)} ${f(side * 85 * span)} ${f(-20 * span)} q${f(-side * 20 * span)} ${f(8 * span)} ${f(-side * 25 * span)} ${f(25 * span)} q${f(-side * 15 * span)} ${f(-10 * span)} ${f(-side * 30 * span)} ${f(5 * span)} q${f(-side * 12 * span)} ${f(-5 * span)} ${f(-side * 30 * span)} ${f(10 * span)} Z`,
          fill: hsl(coat, -12),
          opacity: 0.95,
        }),
      );
    }
  }
  parts.back.push(
    el("path", {
      d: `M${f(L.body.x + L.body.rx * 0.7)} ${f(L.body.y + L.body.ry * 0.5)} q30 10 ${f(40 + stage * 6)} -15 l6 -9 l5 11 Z`,
      fill: hsl(coat, -6),
    }),
  );
  parts.body.push(
    el("ellipse", {
      cx: L.body.x,
      cy: L.body.y + L.body.ry * 0.15,
      rx: L.body.rx * 0.55,
      ry: L.body.ry * 0.7,
      fill: hsl({ h: 48, s: 60, l: 80 }),
    }),
  );
  for (let i = 1; i <= 3; i++) {
    parts.body.push(
      el("path", {
        d: `M${f(L.body.x - L.body.rx * 0.45)} ${f(L.body.y - L.body.ry * 0.35 + i * L.body.ry * 0.3)} h${f(L.body.rx * 0.9)}`,
        stroke: hsl({ h: 40, s: 45, l: 62 }),
        "stroke-width": 2,
      }),
    );
  }
  parts.head.push(
    el("ellipse", { cx: x, cy: y + r * 0.35, rx: r * 0.45, ry: r * 0.28, fill: hsl(coat, 12) }),
  );
  for (const side of [-1, 1])
    parts.head.push(
      el("circle", { cx: x + side * r * 0.13, cy: y + r * 0.28, r: 2.5, fill: hsl(coat, -35) }),
    );
  return { eyeGap: r * 0.38, mouthY: y + r * 0.45 };
}

function owl(
  next: Next,
  L: Layout,
  stage: Stage,
  coat: Colour,
  parts: Parts,
): { eyeGap: number; mouthY: number } {
  const { x, y, r } = L.head;
  for (const side of [-1, 1]) {
    parts.head.push(
      el("path", {
        d: `M${f(x + side * r * 0.45)} ${f(y - r * 0.75)} L${f(x + side * r * (0.75 + next() * 0.1))} ${f(y - r * 1.2)} L${f(x + side * r * 0.85)} ${f(y - r * 0.5)} Z`,
        fill: hsl(coat, -12),
      }),
    );
    parts.back.push(
      el("ellipse", {
        cx: L.body.x + side * L.body.rx * (stage === 3 ? 0.95 : 0.8),
        cy: L.body.y - L.body.ry * 0.05,
        rx: L.body.rx * (stage === 3 ? 0.5 : 0.35),
        ry: L.body.ry * 0.85,
        fill: hsl(coat, -14),
        transform: `rotate(${side * -15} ${f(L.body.x + side * L.body.rx * 0.85)} ${f(L.body.y)})`,
      }),
    );
  }
  for (const side of [-1, 1]) {
    parts.head.push(
      el("circle", { cx: x + side * r * 0.38, cy: y + r * 0.02, r: r * 0.36, fill: hsl(coat, 30, -10) }),
    );
  }
  parts.head.push(
    el("path", {
      d: `M${f(x - 6)} ${f(y + r * 0.22)} L${f(x + 6)} ${f(y + r * 0.22)} L${f(x)} ${f(y + r * 0.42)} Z`,
      fill: "#f2a93b",
    }),
  );
  const rows = stage === 1 ? 2 : 3;
  for (let row = 0; row < rows; row++) {
    for (let i = -1; i <= 1; i++) {
      const cx = L.body.x + i * 14 + (row % 2) * 7;
      const cy = L.body.y - L.body.ry * 0.2 + row * 13;
      parts.body.push(
        el("path", {
          d: `M${f(cx - 5)} ${f(cy)} l5 5 l5 -5`,
          fill: "none",
          stroke: hsl(coat, -20),
          "stroke-width": 2,
          "stroke-linecap": "round",
        }),
      );
    }
  }
  for (const side of [-1, 1]) {
    parts.front.push(
      el("path", {
        d: `M${f(L.body.x + side * 14)} ${f(L.body.y + L.body.ry * 0.95)} l-6 8 m6 -8 l0 9 m0 -9 l6 8`,
        stroke: "#f2a93b",
        "stroke-width": 3,
        "stroke-linecap": "round",
      }),
    );
  }
  return { eyeGap: r * 0.38, mouthY: y + r * 0.5 };
}

function fox(
  next: Next,
  L: Layout,
  stage: Stage,
  coat: Colour,
  parts: Parts,
): { eyeGap: number; mouthY: number } {
  const { x, y, r } = L.head;
  const tip = hsl({ h: 20, s: 30, l: 18 });
  for (const side of [-1, 1]) {
    parts.head.push(
      el("path", {
        d: `M${f(x + side * r * 0.2)} ${f(y - r * 0.78)} L${f(x + side * r * 0.9)} ${f(y - r * 1.35)} L${f(x + side * r * 0.92)} ${f(y - r * 0.35)} Z`,
        fill: hsl(coat),
      }),
      el("path", {
        d: `M${f(x + side * r * 0.78)} ${f(y - r * 1.18)} L${f(x + side * r * 0.9)} ${f(y - r * 1.35)} L${f(x + side * r * 0.91)} ${f(y - r * 1.05)} Z`,
        fill: tip,
      }),
    );
  }
  const tailScale = stage === 1 ? 0.7 : stage === 2 ? 0.9 : 1.15;
  const tx = L.body.x - L.body.rx * 0.75;
  const ty = L.body.y + L.body.ry * 0.2;
  parts.back.push(
    el("path", {
      d: `M${f(tx)} ${f(ty)} q${f(-55 * tailScale)} ${f(5)} ${f(-50 * tailScale)} ${f(-55 * tailScale)} q${f(20 * tailScale)} ${f(15 * tailScale)} ${f(40 * tailScale)} ${f(40 * tailScale)} Z`,
      fill: hsl(coat),
    }),
    el("path", {
      d: `M${f(tx - 50 * tailScale)} ${f(ty - 55 * tailScale)} q${f(6 * tailScale)} ${f(14 * tailScale)} ${f(20 * tailScale)} ${f(18 * tailScale)} q${f(-14 * tailScale)} ${f(-4 * tailScale)} ${f(-20 * tailScale)} ${f(-18 * tailScale)} Z`,
      fill: "#fbf6ef",
    }),
  );
  parts.head.push(
    el("path", {
      d: `M${f(x - r * 0.85)} ${f(y + r * 0.05)} Q${f(x - r * 0.3)} ${f(y + r * 0.25)} ${f(x)} ${f(y + r * 0.75)} Q${f(x + r * 0.3)} ${f(y + r * 0.25)} ${f(x + r * 0.85)} ${f(y + r * 0.05)} Q${f(x + r * 0.6)} ${f(y + r * 0.85)} ${f(x)} ${f(y + r)} Q${f(x - r * 0.6)} ${f(y + r * 0.85)} ${f(x - r * 0.85)} ${f(y + r * 0.05)} Z`,
      fill: "#fbf6ef",
    }),
  );
  parts.head.push(el("ellipse", { cx: x, cy: y + r * 0.55, rx: r * 0.11, ry: r * 0.08, fill: "#1f1410" }));
  for (const side of [-1, 1]) {
    parts.front.push(
      el("ellipse", {
        cx: L.body.x + side * L.body.rx * 0.45,
        cy: L.body.y + L.body.ry * 0.88,
        rx: 9,
        ry: 6,
        fill: tip,
      }),
    );
  }
  if (next() < 0.4)
    parts.body.push(
      el("ellipse", {
        cx: L.body.x,
        cy: L.body.y + L.body.ry * 0.1,
        rx: L.body.rx * 0.45,
        ry: L.body.ry * 0.6,
        fill: "#fbf6ef",
      }),
    );
  return { eyeGap: r * 0.36, mouthY: y + r * 0.64 };
}

const SPECIES_DRAW = { dog, cat, dragon, owl, fox };

/** The creature's SVG for a stage and mood. */
export function portraitSvg(input: { seed: string; species: PetSpecies; stage: Stage; mood: Mood }): string {
  const { seed, species, stage, mood } = input;
  const next = seededRandom(`portrait:${seed}:${species}`);
  const base = choose(next, COATS[species]);
  const coat: Colour = {
    h: base.h + between(next, -6, 6),
    s: base.s + between(next, -8, 8),
    l: base.l + between(next, -5, 5),
  };
  const L = LAYOUTS[stage];
  const parts: Parts = { back: [], body: [], head: [], front: [] };
  const { eyeGap, mouthY } = SPECIES_DRAW[species](next, L, stage, coat, parts);
  const ink = coat.l < 35 ? "#f4f1ea" : "#231a15";
  const eyeSize = L.head.r * (stage === 1 ? 0.14 : 0.12);
  const bg = { h: (coat.h + 190) % 360, s: 45, l: 93 };
  const gradient = `bg${seedOf(seed).toString(36)}`;
  const outline = hsl(coat, -28);
  const body = el("ellipse", {
    cx: L.body.x,
    cy: L.body.y,
    rx: L.body.rx,
    ry: L.body.ry,
    fill: hsl(coat),
    stroke: outline,
    "stroke-width": 2,
  });
  const belly =
    species === "dragon" || species === "owl" || species === "fox"
      ? ""
      : el("ellipse", {
          cx: L.body.x,
          cy: L.body.y + L.body.ry * 0.2,
          rx: L.body.rx * 0.55,
          ry: L.body.ry * 0.6,
          fill: hsl(coat, 20),
        });
  const feet =
    species === "owl"
      ? ""
      : [-1, 1]
          .map((s) =>
            el("ellipse", {
              cx: L.body.x + s * L.body.rx * 0.45,
              cy: L.body.y + L.body.ry * 0.9,
              rx: 12,
              ry: 7,
              fill: hsl(coat, -10),
            }),
          )
          .join("");
  const head = el("circle", {
    cx: L.head.x,
    cy: L.head.y,
    r: L.head.r,
    fill: hsl(coat),
    stroke: outline,
    "stroke-width": 2,
  });
  const label = `A ${stage === 1 ? "baby" : stage === 2 ? "young" : "grown"} ${species}, feeling ${mood}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 240" width="240" height="240" role="img" aria-label="${label}">`,
    `<defs>${el("radialGradient", { id: gradient, cx: "50%", cy: "45%", r: "60%" }, el("stop", { offset: "0%", "stop-color": hsl(bg, 3) }) + el("stop", { offset: "100%", "stop-color": hsl(bg, -8) }))}</defs>`,
    el("rect", { width: 240, height: 240, rx: 32, fill: `url(#${gradient})` }),
    el("ellipse", {
      cx: 120,
      cy: L.body.y + L.body.ry + 8,
      rx: L.body.rx * 1.1,
      ry: 9,
      fill: "#000",
      opacity: 0.08,
    }),
    ...parts.back,
    body,
    belly,
    ...parts.body,
    feet,
    head,
    ...parts.head,
    eyes(mood, L, eyeGap, eyeSize, ink),
    mouth(mood, L.head.x, mouthY, L.head.r * 0.16, ink),
    moodExtras(mood, L, ink),
    ...parts.front,
    "</svg>",
  ].join("");
}
