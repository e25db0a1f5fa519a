import { describe, expect, it } from "vitest";
import type { SplitPlan } from "../src/db/schema/splitting";
import { type AiSplitBrief, acceptAiPlan } from "../src/features/splitting/ai-splitter";
import { learnedFrom, updatePreference } from "../src/features/splitting/learning";
import { findShape, splitLocally } from "../src/features/splitting/local-splitter";
import { SHAPES } from "../src/features/splitting/shapes";
import {
  maxStepMinutes,
  scopeOf,
  shareMinutes,
  stepCount,
  targetStepMinutes,
} from "../src/features/splitting/sizing";
import { splitStepByPattern } from "../src/features/splitting/step-splitter";
import { actionsIn, readTaskWords } from "../src/features/splitting/text";
import { HELD_OUT_TASKS, REAL_LIFE_TASKS } from "./helpers/real-life-tasks";

const NOT_A_VERB = /^(?:the|a|an|your|my|step|part|task|it|this|that|\d)\b/i;
const FILLER = /^(?:step|part|phase)\s*\d|\bthe task\b/i;

function allSteps(plan: SplitPlan) {
  return plan.subtasks.length > 0 ? plan.subtasks.flatMap((s) => s.suggested_steps) : plan.suggested_steps;
}

describe("scope and sizing", () => {
  it("scores SIMPLE under 15 minutes, MULTI 15–120, PROJECT above", () => {
    expect([1, 14, 15, 60, 120, 121, 600].map(scopeOf)).toEqual([
      "SIMPLE",
      "SIMPLE",
      "MULTI",
      "MULTI",
      "MULTI",
      "PROJECT",
      "PROJECT",
    ]);
  });

  it("sizes steps by energy (3/4/5 min) and makes them finer as spiciness rises", () => {
    expect(targetStepMinutes("low", 3)).toBeLessThan(targetStepMinutes("medium", 3));
    expect(targetStepMinutes("medium", 3)).toBeLessThan(targetStepMinutes("high", 3));
    for (const energy of ["low", "medium", "high"] as const) {
      const sizes = [1, 2, 3, 4, 5].map((d) => targetStepMinutes(energy, d));
      expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
    }
    expect(targetStepMinutes("medium", 3)).toBeCloseTo(3.4);
    expect(maxStepMinutes(targetStepMinutes("medium", 3))).toBe(5);
    expect(maxStepMinutes(100)).toBe(10);
  });

  it("counts 3–7 steps unless a count is asked for, and leans on learned counts by confidence", () => {
    expect(stepCount(5, 4)).toBe(3);
    expect(stepCount(20, 4)).toBe(5);
    expect(stepCount(200, 4)).toBe(7);
    expect(stepCount(200, 4, { preferred: 9 })).toBe(9);
    const learned = { step_minutes: 4, step_count: 7, confidence: 0.9 };
    expect(stepCount(12, 4, { learned })).toBe(7);
    expect(stepCount(12, 4, { learned: { ...learned, confidence: 0.1 } })).toBe(3);
  });

  it("shares minutes by weight within 1…max, the first step at most 2, adding up when it can", () => {
    expect(shareMinutes(20, [1, 3, 3, 3], 6)).toEqual([2, 6, 6, 6]);
    expect(shareMinutes(12, [1, 1, 1, 1], 5)).toEqual([2, 4, 3, 3]);
    expect(shareMinutes(3, [1, 1, 1, 1, 1], 5)).toEqual([1, 1, 1, 1, 1]);
    expect(shareMinutes(10, [], 5)).toEqual([]);
  });
});

describe("reading a task title", () => {
  it("finds the verb, the object in the second person, a person and a topic", () => {
    expect(readTaskWords("I need to reply to Dana about the contract")).toMatchObject({
      verb: "reply",
      person: "Dana",
      topic: "the contract",
    });
    expect(readTaskWords("Renew my passport")).toMatchObject({ verb: "renew", object: "your passport" });
    expect(readTaskWords("sort out the junk drawer")).toMatchObject({
      verb: "sort out",
      object: "the junk drawer",
    });
    expect(readTaskWords("Return the package to the post office")).toMatchObject({ thing: "the package" });
    expect(readTaskWords("call my mom")).toMatchObject({ person: "your mom" });
    expect(readTaskWords("email inbox zero").person).toBeNull();
    expect(readTaskWords("finish math homework").object).toBe("your math homework");
    expect(readTaskWords("taxes")).toMatchObject({ verb: null, object: "your taxes" });
  });
});

describe("the local splitter", () => {
  it.each(REAL_LIFE_TASKS)("splits “%s” into concrete, verb-first steps of 1–10 minutes", (title) => {
    for (const energy of ["low", "medium", "high"] as const) {
      for (const difficulty of [1, 3, 5]) {
        const plan = splitLocally({ title, energy, difficulty });
        if (plan.scope === "PROJECT") {
          expect(plan.subtasks.length).toBeGreaterThanOrEqual(2);
          expect(plan.subtasks.length).toBeLessThanOrEqual(5);
          expect(plan.suggested_steps).toEqual(plan.subtasks[0]?.suggested_steps);
        } else {
          expect(plan.subtasks).toEqual([]);
          expect(plan.suggested_steps.length).toBeGreaterThanOrEqual(3);
          expect(plan.suggested_steps.length).toBeLessThanOrEqual(7);
        }
        const groups =
          plan.subtasks.length > 0 ? plan.subtasks.map((s) => s.suggested_steps) : [plan.suggested_steps];
        for (const steps of groups) expect(steps[0]?.estimated_minutes).toBeLessThanOrEqual(2);
        for (const step of allSteps(plan)) {
          expect(step.description, step.description).not.toMatch(NOT_A_VERB);
          expect(step.description, step.description).not.toMatch(FILLER);
          expect(step.description).not.toMatch(/[{}]/);
          expect(step.estimated_minutes).toBeGreaterThanOrEqual(1);
          expect(step.estimated_minutes).toBeLessThanOrEqual(10);
        }
        expect(plan.total_estimated_minutes).toBe(
          allSteps(plan).reduce((t, s) => t + s.estimated_minutes, 0),
        );
        expect(splitLocally({ title, energy, difficulty })).toEqual(plan);
      }
    }
  });

  it("reads titles it was not written from as the right kind of work", () => {
    const read = Object.fromEntries(Object.keys(HELD_OUT_TASKS).map((t) => [t, findShape(t).id]));
    expect(read).toEqual(HELD_OUT_TASKS);
  });

  it("starts every step of every table and held-out task with an imperative verb", () => {
    // Every first word the splitter uses today; a new one must be a verb someone adds here on purpose.
    const IMPERATIVES = new Set(
      (
        "add address answer approve archive assemble back book buy cancel carry change check chop circle clear " +
        "close collect commit compare cook cool cut do download draft empty enter explain export fill find fold " +
        "gather get grab group highlight hit keep label lay list load log look make move mow open pack paste pay " +
        "pick play put quiz read return run save search send serve set skim sort stack start submit sweep take " +
        "stop test throw tick tidy tighten try turn unsubscribe update vacuum walk warm wash water wipe write"
      ).split(" "),
    );
    for (const title of [...REAL_LIFE_TASKS, ...Object.keys(HELD_OUT_TASKS)]) {
      for (const energy of ["low", "medium", "high"] as const) {
        for (const difficulty of [1, 3, 5]) {
          const plan = splitLocally({ title, energy, difficulty });
          const steps = allSteps(plan);
          for (const step of steps) {
            const first = step.description.split(/[\s:,]/)[0]?.toLowerCase() ?? "";
            expect(IMPERATIVES.has(first), `${title}: ${step.description}`).toBe(true);
          }
          const texts = steps.map((x) => x.description);
          if (plan.subtasks.length === 0) expect(new Set(texts).size, title).toBe(texts.length);
        }
      }
    }
  });

  it("recognises the shape of each real-life task (none falls to the generic splitter)", () => {
    const unrecognised = REAL_LIFE_TASKS.filter((t) => findShape(t).id === "generic");
    expect(unrecognised).toEqual([]);
  });

  it("has a get-ready first phase and verb-first phases in every shape", () => {
    for (const shape of SHAPES) {
      for (const stage of shape.stages) {
        expect(stage.phases.length, shape.id).toBeGreaterThanOrEqual(2);
        expect(stage.phases[0]?.weight, `${shape.id}: ${stage.title}`).toBe(1);
        for (const phase of stage.phases) expect(phase.text).not.toMatch(NOT_A_VERB);
      }
    }
  });

  it("names the task's own words in its steps", () => {
    const reply = splitLocally({
      title: "Reply to Dana about the contract",
      energy: "medium",
      difficulty: 3,
      preferredCount: 5,
    });
    const text = reply.suggested_steps.map((s) => s.description).join(" ");
    expect(text).toContain("Dana");
    expect(text).toContain("the contract");
    const garage = splitLocally({ title: "Clean the garage", energy: "medium", difficulty: 3 });
    expect(garage.suggested_steps.some((s) => s.description.includes("the garage"))).toBe(true);
  });

  it("splits a project into sub-tasks, and uses the task's estimate over its own guess", () => {
    const taxes = splitLocally({ title: "File my taxes", energy: "medium", difficulty: 3 });
    expect(taxes.scope).toBe("PROJECT");
    expect(taxes.subtasks.map((s) => s.title)).toEqual([
      "Gather what your taxes need",
      "Fill in the tax return",
      "Check and file the return",
    ]);
    expect(
      splitLocally({ title: "File my taxes", estimatedMinutes: 20, energy: "medium", difficulty: 3 }).scope,
    ).toBe("MULTI");
    const unknown = splitLocally({
      title: "Zorble the flanges",
      estimatedMinutes: 300,
      energy: "low",
      difficulty: 2,
    });
    expect(unknown.subtasks.length).toBe(3);
    expect(unknown.reasoning).toContain("its own kind");
  });

  it("gives more, smaller steps when learned preferences say steps were too large", () => {
    let state = updatePreference(undefined, {
      rating: "too_large",
      estimated_minutes: 6,
      actual_minutes: 12,
      step_count: 4,
    });
    for (let i = 0; i < 6; i++)
      state = updatePreference(state, {
        rating: "too_large",
        estimated_minutes: 5,
        actual_minutes: null,
        step_count: 4,
      });
    const learned = learnedFrom("Work", state);
    const plain = splitLocally({
      title: "Write the report",
      estimatedMinutes: 30,
      energy: "high",
      difficulty: 2,
    });
    const taught = splitLocally({
      title: "Write the report",
      estimatedMinutes: 30,
      energy: "high",
      difficulty: 2,
      learned,
    });
    const longest = (p: SplitPlan) => Math.max(...p.suggested_steps.map((s) => s.estimated_minutes));
    expect(longest(taught)).toBeLessThan(longest(plain));
    expect(taught.reasoning).toContain("ratings");
  });
});

describe("splitting a step again", () => {
  it("timeboxes a step into 2–5 parts that name it, finer at lower energy", () => {
    const base = {
      description: "Write the first section of the report",
      minutes: 8,
      leafType: "DIGITAL" as const,
      category: "Work" as const,
    };
    const low = splitStepByPattern({ ...base, energy: "low", difficulty: 5 });
    const high = splitStepByPattern({ ...base, energy: "high", difficulty: 1 });
    expect(low.suggested_steps.length).toBeGreaterThan(high.suggested_steps.length);
    for (const plan of [low, high]) {
      expect(plan.suggested_steps.length).toBeGreaterThanOrEqual(2);
      expect(plan.suggested_steps.length).toBeLessThanOrEqual(5);
      expect(plan.suggested_steps[0]?.description).toMatch(/^Get ready to write the first section/);
      expect(plan.suggested_steps[1]?.description).toMatch(
        /^Write the first section of the report, for \d+ minutes? only$/,
      );
      for (const s of plan.suggested_steps) expect(s.leaf_type).toBe("DIGITAL");
    }
    const two = splitStepByPattern({ ...base, minutes: 1, energy: "high", difficulty: 1, preferredCount: 2 });
    expect(two.suggested_steps.map((s) => s.estimated_minutes)).toEqual([1, 1]);
  });
});

describe("splitting a step that joins actions", () => {
  it("splits on the actions, sharing a bare verb's object, and leaves noun phrases alone", () => {
    expect(actionsIn("Wash and chop the vegetables")).toEqual(["Wash the vegetables", "Chop the vegetables"]);
    expect(actionsIn("Pay the bill and save the confirmation")).toEqual([
      "Pay the bill",
      "Save the confirmation",
    ]);
    expect(actionsIn("Put on music and grab a bin bag and a box")).toBeNull();
    expect(actionsIn("Sort into darks, lights and delicates")).toBeNull();
    expect(actionsIn("Write the first section")).toBeNull();
    const plan = splitStepByPattern({
      description: "Make the call to the dentist and work through your list",
      minutes: 6,
      leafType: "HUMAN",
      energy: "medium",
      difficulty: 3,
      category: "Health",
    });
    expect(plan.suggested_steps.map((s) => s.description)).toEqual([
      "Get ready to make the call to the dentist: have what it needs within reach",
      "Make the call to the dentist",
      "Work through your list",
      "Check it is all done, then tick it off",
    ]);
  });
});

describe("learning", () => {
  it("moves step size down for too_large, up for too_small, and counts ratings with growing confidence", () => {
    const big = updatePreference(undefined, {
      rating: "too_large",
      estimated_minutes: 5,
      actual_minutes: null,
      step_count: 5,
    });
    expect(big.step_minutes).toBe(3);
    expect(big.step_count).toBe(6);
    const small = updatePreference(big, {
      rating: "too_small",
      estimated_minutes: 2,
      actual_minutes: null,
      step_count: 5,
    });
    expect(small.step_minutes).toBeCloseTo(3 + 0.3 * (3 - 3));
    expect(small.step_count).toBeCloseTo(6 + 0.3 * (4 - 6));
    const right = updatePreference(small, {
      rating: "just_right",
      estimated_minutes: 4,
      actual_minutes: 6,
      step_count: 5,
    });
    expect(right.step_minutes).toBeCloseTo(3 + 0.3 * 3);
    expect(learnedFrom("Work", right)).toMatchObject({
      samples: 3,
      just_right: 1,
      too_large: 1,
      too_small: 1,
      confidence: 0.43,
    });
    const rerated = updatePreference(
      right,
      { rating: "just_right", estimated_minutes: 5, actual_minutes: null, step_count: 5 },
      "too_large",
    );
    expect(learnedFrom("Work", rerated)).toMatchObject({ samples: 3, just_right: 2, too_large: 0 });
    let many = right;
    for (let i = 0; i < 100; i++)
      many = updatePreference(many, {
        rating: "just_right",
        estimated_minutes: 4,
        actual_minutes: null,
        step_count: 5,
      });
    expect(learnedFrom("Work", many).confidence).toBe(0.9);
  });
});

describe("checking what Workers AI answers", () => {
  const brief: AiSplitBrief = {
    kind: "task",
    title: "Reply to Dana",
    estimatedMinutes: 10,
    scope: "SIMPLE",
    energy: "medium",
    difficulty: 3,
    category: "Work",
    targetMinutes: 3.4,
    minSteps: 3,
    maxSteps: 7,
    defaultLeaf: "DIGITAL",
  };
  const step = (description: string, minutes: unknown = 3) => ({
    description,
    estimated_minutes: minutes,
    leaf_type: "HUMAN",
  });

  it("repairs what it can and rejects what it cannot", () => {
    const plan = acceptAiPlan(
      {
        reasoning: "ok",
        steps: [
          step("- Open mail", 0),
          step("2) Write reply", 99),
          step("Send", "4"),
          ...Array.from({ length: 6 }, (_, i) => step(`Check item ${i}`)),
        ],
      },
      brief,
    );
    expect(plan?.suggested_steps.map((s) => [s.description, s.estimated_minutes])).toEqual([
      ["Open mail", 1],
      ["Write reply", 5],
      ["Send", 4],
      ["Check item 0", 3],
      ["Check item 1", 3],
      ["Check item 2", 3],
      ["Check item 3", 3],
    ]);
    expect(
      acceptAiPlan({ reasoning: "x", steps: [step("Open"), step("Step 2"), step("Send it")] }, brief),
    ).toBeUndefined();
    expect(acceptAiPlan({ steps: [step("Open mail"), step("Send it")] }, brief)).toBeUndefined();
    expect(acceptAiPlan("nonsense", brief)).toBeUndefined();
    expect(
      acceptAiPlan(
        { steps: [step("Open mail"), { description: "Write", estimated_minutes: "soon" }, step("Send it")] },
        brief,
      ),
    ).toBeUndefined();
    expect(
      acceptAiPlan(
        { steps: [step("Open mail"), step("Write it"), step("Send it")], subtasks: [] },
        { ...brief, scope: "PROJECT" },
      ),
    ).toBeUndefined();
  });
});
