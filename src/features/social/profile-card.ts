/**
 * A public profile's words and card: only what its showcase holds (no level on it unless the level is
 * showcased, no creature unless the creature is). Pure.
 */
import type { CardContent } from "./card-content";
import { BRAND, grouped } from "./card-content";
import type { PublicProfileDto, ShowcaseItem } from "./schemas";
import type { Likeness } from "./snapshot";

const plural = (n: number, one: string, many: string) => `${grouped(n)} ${n === 1 ? one : many}`;

/** One short phrase per showcased item ("Level 7", "12-day streak" …), tasks left to the page. */
function phrase(item: ShowcaseItem): string | null {
  switch (item.kind) {
    case "level":
      return `Level ${item.level}`;
    case "streak":
      return item.current_days > 0 ? `${item.current_days}-day streak` : null;
    case "badges":
      return plural(item.badges.length, "badge", "badges");
    case "totals":
      return `${plural(item.tasks_completed, "task", "tasks")} done`;
    case "creature":
      return `${item.name} the ${item.species}`;
    case "task":
      return null;
  }
}

/** The profile's summary: "Level 7 · 12-day streak · 3 badges". */
export function profileSummary(profile: PublicProfileDto): string {
  const parts = profile.showcase.map(phrase).filter((p): p is string => p !== null);
  return parts.length > 0 ? parts.join(" · ") : `Taking small steps on ${BRAND}`;
}

export const profileTitle = (handle: string) => `@${handle} on ${BRAND}`;

export function profileCard(profile: PublicProfileDto, creature: Likeness | null): CardContent {
  const level = profile.showcase.find((i) => i.kind === "level");
  const parts = profile.showcase
    // The level is the big figure and the creature is drawn: the subtitle says the rest.
    .filter((i) => i.kind !== "level" && i.kind !== "creature")
    .map(phrase)
    .filter((p): p is string => p !== null);
  return {
    label: "PROFILE",
    theme: { from: "#1e3a8a", to: "#7c3aed", accent: "#fde68a" },
    figure: level ? { type: "number", before: "Level", text: grouped(level.level), unit: "" } : null,
    title: `@${profile.handle}`,
    subtitle: parts.length > 0 ? parts.join(" · ") : `Taking small steps on ${BRAND}`,
    creature,
    creatureLarge: false,
  };
}
