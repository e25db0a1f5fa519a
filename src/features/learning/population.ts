/**
 * What the population model may learn from, per kind: the rows of at least MIN_POPULATION_USERS people
 * (counted in that kind's own rows: ten people finishing tasks are not ten people timing them), with
 * no one person making up more than MAX_PERSON_SHARE of them, so the model is nobody's history alone.
 */

/** The population model is trained only on the rows of at least this many people, so it gives none away. */
export const MIN_POPULATION_USERS = 10;
/** The largest share of a kind's rows one person may make up (their most recent rows are kept). */
export const MAX_PERSON_SHARE = 0.2;

interface Owned {
  userId?: string;
}

/** How many people the rows come from. */
export const peopleIn = (rows: readonly Owned[]) => new Set(rows.map((r) => r.userId)).size;

/**
 * The largest per-person row count c with min(n, c) ≤ share × Σ min(nᵢ, c) for everyone's counts nᵢ:
 * as c grows the left side gains 1 and the right share × (people still above c), so the rule holds on
 * [0, c*] and a walk up the sorted counts finds c*.
 */
export function personCap(counts: readonly number[], share = MAX_PERSON_SHARE): number {
  const sorted = [...counts].sort((a, b) => a - b);
  const most = sorted.at(-1) ?? 0;
  let total = 0;
  let i = 0;
  let cap = 0;
  for (let c = 1; c <= most; c++) {
    while (i < sorted.length && sorted[i]! < c) i++;
    // Everyone with at least c rows gives one more at this cap.
    total += sorted.length - i;
    if (c > share * total) break;
    cap = c;
  }
  return cap;
}

/** Each person's rows, the first `cap` in the given order (most recent first), in the given order. */
export function capPerPerson<T extends Owned>(rows: readonly T[], share = MAX_PERSON_SHARE): T[] {
  const counts = new Map<string | undefined, number>();
  for (const r of rows) counts.set(r.userId, (counts.get(r.userId) ?? 0) + 1);
  const cap = personCap([...counts.values()], share);
  const kept = new Map<string | undefined, number>();
  return rows.filter((r) => {
    const n = kept.get(r.userId) ?? 0;
    kept.set(r.userId, n + 1);
    return n < cap;
  });
}
