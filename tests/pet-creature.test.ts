import { describe, expect, it, vi } from "vitest";
import { dialogueLine } from "../src/features/pets/dialogue";
import { PET_SPECIES } from "../src/features/pets/growth";
import {
  localPersonality,
  parseWritten,
  productivityPattern,
  temperamentFor,
  writePersonality,
} from "../src/features/pets/personality";
import { portraitSvg } from "../src/features/pets/portrait";
import { addDays } from "../src/lib/time";

const TODAY = "2026-11-25";
const days = (n: number, steps: (i: number) => number) =>
  Array.from({ length: n }, (_, i) => ({ day: addDays(TODAY, -i), steps: steps(i) }));

describe("productivity pattern", () => {
  it("tells high energy, low energy and irregular work apart", () => {
    expect(
      productivityPattern(
        days(20, () => 10),
        TODAY,
      ),
    ).toBe("high_energy");
    expect(
      productivityPattern(
        days(20, () => 2),
        TODAY,
      ),
    ).toBe("low_energy");
    expect(
      productivityPattern(
        days(2, () => 20),
        TODAY,
      ),
    ).toBe("low_energy");
    expect(
      productivityPattern(
        days(28, (i) => (i % 4 === 0 ? 12 : 0)),
        TODAY,
      ),
    ).toBe("irregular");
    expect(
      productivityPattern(
        days(20, (i) => (i % 2 ? 1 : 25)),
        TODAY,
      ),
    ).toBe("irregular");
    expect(productivityPattern([], TODAY)).toBe("low_energy");
  });

  it("matches temperament to the pattern: energetic, calm, patient", () => {
    expect(["high_energy", "low_energy", "irregular"].map((p) => temperamentFor(p as never))).toEqual([
      "energetic",
      "calm",
      "patient",
    ]);
  });
});

describe("the local personality writer", () => {
  it("is deterministic for a pet and varied across pets", () => {
    const a = localPersonality({ seed: "user-1:pet-1", species: "fox", temperament: "calm" });
    expect(localPersonality({ seed: "user-1:pet-1", species: "fox", temperament: "calm" })).toEqual(a);
    const others = ["user-2:pet-2", "user-3:pet-3", "user-4:pet-4", "user-5:pet-5"].map((seed) =>
      JSON.stringify(localPersonality({ seed, species: "fox", temperament: "calm" })),
    );
    expect(new Set([JSON.stringify(a), ...others]).size).toBeGreaterThanOrEqual(4);
  });

  it("writes a complete, kind personality for every species and temperament", () => {
    for (const species of PET_SPECIES) {
      for (const temperament of ["energetic", "calm", "patient"] as const) {
        const p = localPersonality({ seed: `${species}-${temperament}`, species, temperament });
        expect(parseWritten(p)).toEqual(p);
        expect(p.traits).toHaveLength(3);
        expect(new Set(p.traits).size).toBe(3);
        expect(p.backstory).toContain(p.name_suggestion);
        expect(p.backstory).not.toMatch(/lazy|fail|disappoint/i);
      }
    }
  });
});

describe("the Workers AI writer", () => {
  const input = { seed: "u:p", species: "owl" as const, pattern: "irregular" as const, petName: "Hoot" };
  const good = {
    name_suggestion: "Professor Hoot",
    traits: ["wise", "gentle", "night-loving"],
    dialogue_style: "Soft questions that help you find the next step",
    backstory: "Hoot once ran the moonlight library. Now it keeps your wins safe in its feathers.",
  };

  it("uses a good answer, in any of the shapes the binding returns", async () => {
    for (const answer of [
      good,
      { response: good },
      { response: JSON.stringify(good) },
      { response: `\`\`\`json\n${JSON.stringify(good)}\n\`\`\`` },
    ]) {
      const run = vi.fn().mockResolvedValue(answer);
      const p = await writePersonality({ AI: { run } as unknown as Ai }, input);
      expect(p).toEqual({ ...good, temperament: "patient", generated_by: "ai" });
      expect(run).toHaveBeenCalledTimes(1);
      expect(run.mock.calls[0]?.[1]).toMatchObject({ response_format: { type: "json_schema" } });
    }
  });

  it("retries a malformed or out-of-range answer once, then writes locally", async () => {
    const run = vi
      .fn()
      .mockResolvedValueOnce({ response: "Sure! Here is a personality: {oops" })
      .mockResolvedValueOnce({ response: { ...good, traits: ["only one"] } });
    const p = await writePersonality({ AI: { run } as unknown as Ai }, input);
    expect(run).toHaveBeenCalledTimes(2);
    expect(p.generated_by).toBe("local");
    expect(p).toMatchObject(localPersonality({ seed: "u:p", species: "owl", temperament: "patient" }));
  });

  it("falls back at once, within the timeout, when the model hangs, and when it throws", async () => {
    const hang = vi.fn().mockReturnValue(new Promise(() => undefined));
    const started = Date.now();
    const p = await writePersonality({ AI: { run: hang } as unknown as Ai }, input, { timeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(hang).toHaveBeenCalledTimes(1);
    expect(p.generated_by).toBe("local");
    const broken = vi.fn().mockRejectedValue(new Error("AI is down"));
    expect((await writePersonality({ AI: { run: broken } as unknown as Ai }, input)).generated_by).toBe(
      "local",
    );
    expect(broken).toHaveBeenCalledTimes(2);
    expect((await writePersonality({}, input)).generated_by).toBe("local");
  });
});

describe("dialogue", () => {
  const base = {
    name: "Ember",
    mood: "happy" as const,
    temperament: "calm" as const,
    steps_today: 0,
    streak_days: 0,
    treats: 0,
    hours_away: 1,
    date: TODAY,
  };

  it("says the same thing for the same moment, and changes with mood and day", () => {
    const line = dialogueLine("seed", base);
    expect(dialogueLine("seed", base)).toBe(line);
    const lines = new Set(
      (["happy", "hungry", "playful", "sleepy", "sad"] as const).map((mood) =>
        dialogueLine("seed", { ...base, mood }),
      ),
    );
    expect(lines.size).toBe(5);
  });

  it("notices the day and welcomes a user back without guilt", () => {
    expect(dialogueLine("seed", { ...base, mood: "sad", hours_away: 24 * 7 })).toContain("You're back");
    const busy = Array.from({ length: 10 }, (_, i) => dialogueLine(`s${i}`, { ...base, steps_today: 6 }));
    expect(busy.some((l) => l.includes("6 steps today"))).toBe(true);
    for (const l of busy) expect(l).not.toMatch(/should have|lazy|failed/i);
  });
});

describe("the portrait", () => {
  const all = PET_SPECIES.flatMap((species) =>
    ([1, 2, 3] as const).map((stage) => ({
      species,
      stage,
      svg: portraitSvg({ seed: "x", species, stage, mood: "happy" }),
    })),
  );

  it("draws the same bytes for the same creature, stage and mood", () => {
    expect(portraitSvg({ seed: "x", species: "cat", stage: 2, mood: "happy" })).toBe(all[4]?.svg);
  });

  it("differs across creatures, stages and moods", () => {
    expect(new Set(all.map((a) => a.svg)).size).toBe(15);
    const seeds = ["a", "b", "c", "d", "e", "f"].map((seed) =>
      portraitSvg({ seed, species: "dog", stage: 1, mood: "happy" }),
    );
    expect(new Set(seeds).size).toBeGreaterThanOrEqual(4);
    const moods = (["happy", "hungry", "playful", "sleepy", "sad"] as const).map((mood) =>
      portraitSvg({ seed: "x", species: "owl", stage: 3, mood }),
    );
    expect(new Set(moods).size).toBe(5);
  });

  it("is safe, well-formed SVG: no script, no handlers, no external references", () => {
    for (const { svg } of all) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).not.toMatch(/<script|<foreignObject|\son\w+=|javascript:|href=|xlink|url\((?!#)/i);
      // Well-formed XML: every tag is a name and quoted attributes, text only between tags, every element closed.
      for (const tag of svg.match(/<[^>]*>/g) ?? []) {
        expect(tag).toMatch(/^<\/?[a-zA-Z]+(\s+[a-zA-Z:-]+="[^"<>&]*")*\s*\/?>$/);
      }
      expect(svg.replace(/<[^>]*>/g, "")).toBe("");
      const stack: string[] = [];
      for (const tag of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
        const [, closing, name, selfClosing] = tag;
        if (selfClosing) continue;
        if (closing) expect(stack.pop()).toBe(name);
        else stack.push(name ?? "");
      }
      expect(stack).toEqual([]);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    }
  });
});
