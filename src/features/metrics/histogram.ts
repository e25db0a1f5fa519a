/**
 * Latencies kept as counts in buckets that grow by a quarter each, so histograms from many isolates
 * and minutes add up exactly, and a percentile read from them is within a bucket (≤ 25%) of the truth.
 * Bucket 0 holds everything under 1 ms: a Worker's clock only moves across I/O, so a request that
 * does none reads as 0 ms.
 */
export type Histogram = Map<number, number>;

const GROWTH = 1.25;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket 60 starts near 6.5 minutes: nothing a request takes is slower. */
const LAST_BUCKET = 60;

export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(LAST_BUCKET, 1 + Math.floor(Math.log(ms) / LOG_GROWTH + 1e-9));
}

/** The upper bound of bucket `index`, in ms. */
export function bucketTop(index: number): number {
  return GROWTH ** index;
}

export function addTo(histogram: Histogram, index: number, count = 1): void {
  histogram.set(index, (histogram.get(index) ?? 0) + count);
}

export function merge(into: Histogram, from: Histogram): void {
  for (const [index, count] of from) addTo(into, index, count);
}

/**
 * The `q` quantile (0 < q ≤ 1): the top of the bucket the q-th request falls in, never above the
 * slowest request seen (`max`), so a page of 3 ms requests does not read 3.05.
 */
export function quantile(histogram: Histogram, q: number, max: number): number {
  const total = [...histogram.values()].reduce((sum, count) => sum + count, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const index of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(index) ?? 0;
    if (seen >= rank) return Math.min(bucketTop(index), max);
  }
  return max;
}

/** Stored as `[[bucket, count], …]`: only the buckets used. */
export function encode(histogram: Histogram): string {
  return JSON.stringify([...histogram].sort((a, b) => a[0] - b[0]));
}

export function decode(text: string): Histogram {
  const histogram: Histogram = new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return histogram;
  }
  if (!Array.isArray(parsed)) return histogram;
  for (const pair of parsed) {
    if (Array.isArray(pair) && Number.isInteger(pair[0]) && Number.isInteger(pair[1]) && pair[1] > 0)
      addTo(histogram, pair[0], pair[1]);
  }
  return histogram;
}
