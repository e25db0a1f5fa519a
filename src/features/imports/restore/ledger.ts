/**
 * Which XP ledger rows of a file a restore accepts (review2 H1): only what the gamification feature's
 * grant rules could have paid. A file is anyone's to edit, and the ledger's sum is the account's total
 * XP, level and level badges — shown on a public profile and share cards — so each row is bounded by
 * the largest grant of its kind:
 * - step:/task:/focus:<id> — the work's largest XP (stepXp, taskXp, focusXp at their caps); the final
 *   batch also keeps it only when the restore or the account holds that work completed (reveal.ts);
 * - challenge:<date>:<key> — that day's challenge's own XP (challengesFor), only for a challenge that
 *   existed that day;
 * - bonus:<key> — the key's largest grant times (MAX_XP_MULTIPLIER − 1), the most a bonus window adds;
 * - pet:<key> — the largest pet boost (10 %) of a step, task or focus grant;
 * - manual:… and anything else — refused: a manual grant is the platform's, never a file's word.
 * A negative amount is refused too. Pure.
 */

import type { LocalDate } from "../../../lib/time";
import { challengesFor } from "../../gamification/challenges";
import { focusXp, MAX_XP_MULTIPLIER, stepXp, taskXp } from "../../gamification/xp";

/** The pet's largest XP boost, in percent (pets/growth.ts perksAt: Kindred Spirit). */
export const MAX_PET_BOOST_PERCENT = 10;

const WORK_CAPS: Readonly<Record<string, number>> = {
  step: stepXp("high", Number.MAX_SAFE_INTEGER).total,
  task: taskXp("high", Number.MAX_SAFE_INTEGER).total,
  focus: focusXp(Number.MAX_SAFE_INTEGER).total,
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function challengeCap(id: string): number | null {
  const date = id.slice(0, 10);
  if (!DAY.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return null;
  return challengesFor(date as LocalDate).find((c) => c.challenge_id === id)?.xp ?? null;
}

/** The most a grant under `key` can pay; null when no rule pays under it (refused). */
export function ledgerCap(key: string): number | null {
  if (key.startsWith("bonus:")) {
    const base = baseCap(key.slice(6));
    return base === null ? null : base * (MAX_XP_MULTIPLIER - 1);
  }
  if (key.startsWith("pet:")) {
    const rest = key.slice(4);
    const kind = rest.slice(0, rest.indexOf(":"));
    const base = WORK_CAPS[kind];
    return base === undefined ? null : Math.round((base * MAX_PET_BOOST_PERCENT) / 100);
  }
  return baseCap(key);
}

function baseCap(key: string): number | null {
  const colon = key.indexOf(":");
  if (colon <= 0 || colon === key.length - 1) return null;
  const kind = key.slice(0, colon);
  if (kind === "challenge") return challengeCap(key.slice(colon + 1));
  return WORK_CAPS[kind] ?? null;
}

/** Why a ledger row is refused (a sentence), or null when it is accepted. */
export function ledgerRefusal(row: Record<string, unknown>): string | null {
  const key = String(row.source_key ?? "");
  const amount = row.amount;
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount < 0)
    return `the XP row "${key}" has a negative or invalid amount; it is not restored`;
  if (key.startsWith("manual:")) return `the XP row "${key}" is a manual grant; it is not restored`;
  const cap = ledgerCap(key);
  if (cap === null) return `no XP rule pays under "${key}"; the row is not restored`;
  if (amount > cap)
    return `the XP row "${key}" pays ${amount}, more than its rule ever pays (${cap}); it is not restored`;
  return null;
}
