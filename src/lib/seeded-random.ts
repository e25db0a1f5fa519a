/**
 * Deterministic randomness from a text seed: the same text gives the same sequence on every machine
 * and in every release, so anything derived from it (a date's challenges, a pet's personality, its
 * portrait and lines) is stable. Changing either function changes every value derived so far.
 */

/** xmur3-style hash of a string to a 32-bit seed. */
export function seedOf(text: string): number {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  h = Math.imul(h ^ (h >>> 16), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: a small, good, deterministic PRNG giving numbers in [0, 1). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sequence seeded by `text`. */
export function seededRandom(text: string): () => number {
  return prng(seedOf(text));
}
