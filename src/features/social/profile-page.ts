/** The public profile page (/u/<handle>): the showcase, and the creature drawn inline. Pure. */
import { portraitSvg } from "../pets/portrait";
import { grouped } from "./card-content";
import { escapeHtml, htmlDocument, metaTags } from "./html";
import { profileSummary, profileTitle } from "./profile-card";
import type { PublicProfileDto, ShowcaseItem } from "./schemas";
import type { Likeness } from "./snapshot";

const plural = (n: number, one: string, many: string) => `${grouped(n)} ${n === 1 ? one : many}`;

function section(heading: string, content: string): string {
  return `<section>\n<h2>${escapeHtml(heading)}</h2>\n${content}\n</section>`;
}

function itemHtml(item: ShowcaseItem, creature: Likeness | null): string {
  switch (item.kind) {
    case "level":
      return section(
        "Level",
        `<p class="big">${item.level}</p><p class="muted">${escapeHtml(plural(item.total_xp, "XP", "XP"))} earned</p>`,
      );
    case "streak":
      return section(
        "Streak",
        `<p class="big">${escapeHtml(plural(item.current_days, "day", "days"))}</p><p class="muted">Longest: ${escapeHtml(plural(item.longest_days, "day", "days"))}</p>`,
      );
    case "badges":
      return section(
        "Badges",
        item.badges.length === 0
          ? `<p class="muted">No badges yet.</p>`
          : `<ul>\n${item.badges
              .map(
                (b) =>
                  `<li><strong>${escapeHtml(b.name)}</strong> (${b.tier}): ${escapeHtml(b.description)}</li>`,
              )
              .join("\n")}\n</ul>`,
      );
    case "creature": {
      // The portrait is shapes only: no script, no reference, no user text (pets/portrait.ts).
      const picture = creature
        ? portraitSvg({
            seed: creature.seed,
            species: creature.species,
            stage: creature.stage,
            mood: creature.mood,
          })
        : "";
      return section(
        "Creature",
        `<div class="creature">${picture}<div><p class="big">${escapeHtml(item.name)}</p><p class="muted">A level ${item.level} ${item.species}, feeling ${item.mood}</p></div></div>`,
      );
    }
    case "totals":
      return section(
        "Totals",
        `<ul><li>${escapeHtml(plural(item.tasks_completed, "task", "tasks"))} done</li><li>${escapeHtml(plural(item.steps_completed, "step", "steps"))} done</li><li>${escapeHtml(plural(item.focus_sessions, "focus session", "focus sessions"))}</li></ul>`,
      );
    case "task": {
      const done = item.status === "completed";
      const progress =
        item.total_steps > 0
          ? `${item.completed_steps} of ${plural(item.total_steps, "step", "steps")} done`
          : "";
      return section(
        done ? "Done" : "Working on",
        `<p><strong>${escapeHtml(item.title)}</strong></p>${progress ? `<p class="muted">${escapeHtml(progress)}</p>` : ""}`,
      );
    }
  }
}

export function profilePage(profile: PublicProfileDto, creature: Likeness | null): string {
  const title = profileTitle(profile.handle);
  const summary = profileSummary(profile);
  const head = [
    metaTags({
      title,
      description: summary,
      url: profile.url,
      image: profile.image_url,
      imageAlt: `${title}: ${summary}`,
      type: "profile",
    }),
    `<meta property="profile:username" content="${escapeHtml(profile.handle)}">`,
  ].join("\n");
  const items = profile.showcase.map((item) => itemHtml(item, creature)).join("\n");
  const body = [
    `<h1>@${escapeHtml(profile.handle)}</h1>`,
    `<p class="muted">${escapeHtml(summary)}</p>`,
    items || `<p class="muted">Nothing showcased yet.</p>`,
  ].join("\n");
  return htmlDocument(title, head, body);
}
