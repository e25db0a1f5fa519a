/**
 * What a share says, in words and on its card, from its snapshot alone: the page's title and
 * description, the text offered to the networks, and the card's label, big figure, title, subtitle and
 * colours. Pure: the same snapshot always says the same.
 */
import type { BadgeTier } from "../gamification/badges";
import type { Likeness, Snapshot } from "./snapshot";
import { drawableText } from "./text-fit";

export const BRAND = "Proxy Agent";

export interface Theme {
  /** The background's two gradient stops, top-left to bottom-right. */
  from: string;
  to: string;
  /** The big figure's colour. */
  accent: string;
}

export type Figure =
  | { type: "number"; text: string; unit: string; before?: string }
  | { type: "medal"; tier: BadgeTier }
  | { type: "check" }
  | { type: "progress"; percent: number }
  | null;

export interface CardContent {
  label: string;
  theme: Theme;
  figure: Figure;
  /** Drawable text only (text-fit.ts), never empty. */
  title: string;
  subtitle: string;
  creature: Likeness | null;
  /** The creature is the subject (a creature share), drawn large. */
  creatureLarge: boolean;
}

export interface ShareWords {
  /** og:title and the page's heading. */
  title: string;
  /** og:description. */
  description: string;
  /** What the share links offer to post. */
  text: string;
}

const THEMES = {
  level: { from: "#3730a3", to: "#7c3aed", accent: "#fde68a" },
  streak: { from: "#c2410c", to: "#be123c", accent: "#fef3c7" },
  achievement: { from: "#111827", to: "#374151", accent: "#fcd34d" },
  creature: { from: "#0f766e", to: "#0e7490", accent: "#ccfbf1" },
  task: { from: "#166534", to: "#0f766e", accent: "#bbf7d0" },
} satisfies Record<Snapshot["kind"], Theme>;

const STAGE_WORDS = { 1: "baby", 2: "young", 3: "grown" } as const;

/** 1234567 → "1,234,567", the same in every locale. */
export const grouped = (n: number) =>
  Math.trunc(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");

const plural = (n: number, one: string, many: string) => `${grouped(n)} ${n === 1 ? one : many}`;

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A user's text for the card: what the fonts can draw, or `fallback` when nothing is left. */
const onCard = (text: string, fallback: string) => drawableText(text) || fallback;

const describeCreature = (c: Likeness) =>
  `A ${STAGE_WORDS[c.stage]} ${c.species} at level ${c.level}, feeling ${c.mood}`;

/** The words of a share: its page's title and description, and the text to post. */
export function shareWords(snapshot: Snapshot): ShareWords {
  switch (snapshot.kind) {
    case "level":
      return {
        title: `Level ${snapshot.level} reached`,
        description: `${plural(snapshot.total_xp, "XP", "XP")} earned one small step at a time on ${BRAND}.`,
        text: `I reached level ${snapshot.level} on ${BRAND}!`,
      };
    case "streak":
      return {
        title: `A ${snapshot.current_days}-day streak`,
        description: `${plural(snapshot.current_days, "day", "days")} in a row of small steps on ${BRAND}.`,
        text: `I'm on a ${snapshot.current_days}-day streak on ${BRAND}!`,
      };
    case "achievement":
      return {
        title: `Badge unlocked: ${snapshot.name}`,
        description: `${snapshot.description}: a ${snapshot.tier} badge on ${BRAND}.`,
        text: `I unlocked the "${snapshot.name}" badge on ${BRAND}!`,
      };
    case "creature":
      return {
        title: `Meet ${snapshot.creature.name}`,
        description: `${describeCreature(snapshot.creature)}, growing with every step on ${BRAND}.`,
        text: `Meet ${snapshot.creature.name}, my ${snapshot.creature.species} on ${BRAND}!`,
      };
    case "task":
      return snapshot.status === "completed"
        ? {
            title: `Done: ${snapshot.title}`,
            description: `${stepsDone(snapshot)}, one small step at a time, on ${BRAND}.`,
            text: `I finished "${snapshot.title}" on ${BRAND}!`,
          }
        : {
            title: `In progress: ${snapshot.title}`,
            description: `${stepsDone(snapshot)} so far, one small step at a time, on ${BRAND}.`,
            text: `Making progress on "${snapshot.title}": ${stepsDone(snapshot).toLowerCase()}.`,
          };
  }
}

function stepsDone(task: { status: string; completed_steps: number; total_steps: number }): string {
  if (task.total_steps === 0) return task.status === "completed" ? "Finished" : "Started";
  if (task.status === "completed" || task.completed_steps === task.total_steps)
    return task.total_steps === 1 ? "Its one step done" : `All ${task.total_steps} steps done`;
  return `${task.completed_steps} of ${plural(task.total_steps, "step", "steps")} done`;
}

const percentOf = (done: number, total: number) => (total > 0 ? Math.round((100 * done) / total) : 0);

/** What the card shows. */
export function cardContent(snapshot: Snapshot): CardContent {
  const base = { theme: THEMES[snapshot.kind], creature: snapshot.creature, creatureLarge: false };
  switch (snapshot.kind) {
    case "level":
      return {
        ...base,
        label: "LEVEL UP",
        figure: { type: "number", before: "Level", text: grouped(snapshot.level), unit: "" },
        title: "New level reached",
        subtitle: `${plural(snapshot.total_xp, "XP", "XP")} earned, one small step at a time`,
      };
    case "streak":
      return {
        ...base,
        label: "STREAK",
        figure: {
          type: "number",
          text: grouped(snapshot.current_days),
          unit: snapshot.current_days === 1 ? "day" : "days in a row",
        },
        title: snapshot.current_days >= snapshot.longest_days ? "My longest streak yet" : "Keeping it going",
        subtitle:
          snapshot.longest_days > snapshot.current_days
            ? `Best streak so far: ${plural(snapshot.longest_days, "day", "days")}`
            : "One small step every day",
      };
    case "achievement":
      return {
        ...base,
        label: `${snapshot.tier.toUpperCase()} BADGE`,
        figure: { type: "medal", tier: snapshot.tier },
        title: onCard(snapshot.name, "Badge unlocked"),
        subtitle: onCard(snapshot.description, ""),
      };
    case "creature":
      return {
        ...base,
        label: "MY CREATURE",
        figure: null,
        title: onCard(snapshot.creature.name, capitalised(snapshot.creature.species)),
        subtitle: describeCreature(snapshot.creature),
        creatureLarge: true,
      };
    case "task":
      return {
        ...base,
        label: snapshot.status === "completed" ? "DONE" : "IN PROGRESS",
        figure:
          snapshot.status === "completed"
            ? { type: "check" }
            : { type: "progress", percent: percentOf(snapshot.completed_steps, snapshot.total_steps) },
        title: onCard(snapshot.title, "A task"),
        subtitle: stepsDone(snapshot),
      };
  }
}
