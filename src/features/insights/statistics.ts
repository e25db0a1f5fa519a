/**
 * The statistics behind patterns: Beta–Binomial posteriors of rates, the probability that one rate
 * exceeds another (exactly, by Evan Miller's closed form, and by a margin, by numeric integration),
 * the Wilson score interval, and the Bonferroni correction for how many comparisons were examined.
 * Pure and dependency-free, so every number a pattern reports can be checked by hand.
 */

/** A Beta(alpha, beta) distribution: the posterior of a rate. */
export interface Beta {
  alpha: number;
  beta: number;
}

/** The uniform prior Beta(1, 1): every rate equally likely before any data. */
export const UNIFORM_PRIOR: Readonly<Beta> = Object.freeze({ alpha: 1, beta: 1 });

/** The posterior of a rate after `successes` out of `trials`, from a Beta prior. */
export function posterior(successes: number, trials: number, prior: Beta = UNIFORM_PRIOR): Beta {
  if (!(successes >= 0 && trials >= successes)) {
    throw new RangeError(`need 0 ≤ successes ≤ trials, got ${successes} of ${trials}`);
  }
  return { alpha: prior.alpha + successes, beta: prior.beta + trials - successes };
}

export const betaMean = (d: Beta) => d.alpha / (d.alpha + d.beta);

export function betaSd(d: Beta): number {
  const n = d.alpha + d.beta;
  return Math.sqrt((d.alpha * d.beta) / (n * n * (n + 1)));
}

// Lanczos approximation (g = 7, 9 coefficients): about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export const logBeta = (a: number, b: number) => logGamma(a) + logGamma(b) - logGamma(a + b);

/** The Beta density at x, in logs (−∞ outside (0, 1) unless a or b is 1 at that edge). */
export function betaLogPdf(x: number, d: Beta): number {
  if (x < 0 || x > 1) return Number.NEGATIVE_INFINITY;
  const left = d.alpha === 1 ? 0 : (d.alpha - 1) * Math.log(x);
  const right = d.beta === 1 ? 0 : (d.beta - 1) * Math.log(1 - x);
  return left + right - logBeta(d.alpha, d.beta);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-14) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b): the Beta(a, b) distribution function at x. */
export function betaCdf(x: number, d: Beta): number {
  const { alpha: a, beta: b } = d;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - logBeta(a, b));
  // The fraction converges fast on this side of the mean; use the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/**
 * P(X > Y) for independent X ~ Beta(x), Y ~ Beta(y), exactly (Evan Miller, "Formulas for Bayesian
 * A/B testing"): Σ_{i=0}^{αx−1} B(αy+i, βy+βx) / ((βx+i) · B(1+i, βx) · B(αy, βy)).
 * Needs an integer αx (true for a uniform prior and counts); otherwise it integrates numerically.
 */
export function probabilityGreater(x: Beta, y: Beta): number {
  if (!Number.isInteger(x.alpha)) return probabilityExceedsBy(x, y, 0);
  const base = logBeta(y.alpha, y.beta);
  let total = 0;
  for (let i = 0; i < x.alpha; i++) {
    total += Math.exp(
      logBeta(y.alpha + i, y.beta + x.beta) - Math.log(x.beta + i) - logBeta(1 + i, x.beta) - base,
    );
  }
  return Math.min(1, Math.max(0, total));
}

const SIMPSON_INTERVALS = 200;
const WINDOW_SDS = 10;

/**
 * P(X − Y > margin) for independent X ~ Beta(x), Y ~ Beta(y): ∫ f_X(t) · F_Y(t − margin) dt over
 * t in (margin, 1], by Simpson's rule over the part of X's density that is not negligible (its mean
 * ± 10 standard deviations). Within 1e-4 of the exact value even at the edges (k = n), checked against the closed form.
 */
export function probabilityExceedsBy(x: Beta, y: Beta, margin: number): number {
  const mean = betaMean(x);
  const sd = betaSd(x);
  const lo = Math.max(margin, 0, mean - WINDOW_SDS * sd);
  const hi = Math.min(1, mean + WINDOW_SDS * sd);
  if (hi <= lo) return 0;
  const h = (hi - lo) / SIMPSON_INTERVALS;
  let sum = 0;
  for (let i = 0; i <= SIMPSON_INTERVALS; i++) {
    // The last node is `hi` itself: lo + n·h can land a hair past 1, where the density is 0.
    const t = i === SIMPSON_INTERVALS ? hi : lo + i * h;
    const weight = i === 0 || i === SIMPSON_INTERVALS ? 1 : i % 2 === 1 ? 4 : 2;
    const density = Math.exp(betaLogPdf(t, x));
    if (density > 0) sum += weight * density * betaCdf(t - margin, y);
  }
  return Math.min(1, Math.max(0, (sum * h) / 3));
}

/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** The Wilson score interval of a rate (default 95%): honest at small samples and near 0 or 1. */
export function wilsonInterval(successes: number, trials: number, z = Z_95): { low: number; high: number } {
  if (trials <= 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Bonferroni: the probability that a claim is wrong, made accountable for the `claims` that could have
 * been made. The adjusted probability of being right is 1 − claims · (1 − p), floored at 0: by the
 * union bound, the chance that any of the claims examined is wrong stays below 1 − that confidence.
 */
export function bonferroniConfidence(probability: number, claims: number): number {
  if (claims < 1) return probability;
  return Math.max(0, 1 - claims * (1 - probability));
}
