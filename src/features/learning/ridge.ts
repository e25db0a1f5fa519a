/**
 * Ridge (L2-regularised) linear regression, solved exactly: (XᵀX + λI) w = Xᵀ(y − ȳ) by Cholesky.
 * Columns are expected standardised (features.ts); the intercept is the mean of y and is not
 * penalised. λ > 0 keeps the system positive definite even with constant or duplicated columns, so a
 * degenerate history gives small weights, never NaN.
 */

export interface RidgeModel {
  intercept: number;
  weights: number[];
  lambda: number;
}

/** Solves A x = b for a symmetric positive definite A (row-major, n×n); null when A is not SPD. */
export function choleskySolve(a: readonly number[][], b: readonly number[]): number[] | null {
  const n = b.length;
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const ai = a[i]!;
    const li = l[i]!;
    for (let j = 0; j <= i; j++) {
      const lj = l[j]!;
      let sum = ai[j]!;
      for (let k = 0; k < j; k++) sum -= li[k]! * lj[k]!;
      if (i === j) {
        if (!(sum > 1e-12)) return null;
        li[i] = Math.sqrt(sum);
      } else {
        li[j] = sum / lj[j]!;
      }
    }
  }
  // Forward (L z = b), then back (Lᵀ x = z).
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const li = l[i]!;
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= li[k]! * z[k]!;
    z[i] = sum / li[i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k]![i]! * x[k]!;
    x[i] = sum / l[i]![i]!;
  }
  return x.every(Number.isFinite) ? x : null;
}

/**
 * Fits ridge regression with a fixed λ. `x` rows are feature vectors of equal length; columns are
 * centred here (the intercept absorbs their means), so the penalty never pulls on the intercept.
 */
export function fitRidge(x: readonly number[][], y: readonly number[], lambda: number): RidgeModel {
  const n = y.length;
  const d = x[0]?.length ?? 0;
  const yMean = n > 0 ? y.reduce((s, v) => s + v, 0) / n : 0;
  if (n === 0 || d === 0) return { intercept: yMean, weights: new Array<number>(d).fill(0), lambda };
  const xMean = new Array<number>(d).fill(0);
  for (const row of x) for (let i = 0; i < d; i++) xMean[i] = xMean[i]! + row[i]! / n;
  const gram: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const rhs = new Array<number>(d).fill(0);
  const centred = new Array<number>(d).fill(0);
  for (let r = 0; r < n; r++) {
    const row = x[r]!;
    const target = y[r]! - yMean;
    for (let i = 0; i < d; i++) centred[i] = row[i]! - xMean[i]!;
    for (let i = 0; i < d; i++) {
      const xi = centred[i]!;
      if (xi === 0) continue;
      rhs[i] = rhs[i]! + xi * target;
      const gi = gram[i]!;
      for (let j = 0; j <= i; j++) gi[j] = gi[j]! + xi * centred[j]!;
    }
  }
  for (let i = 0; i < d; i++) {
    const gi = gram[i]!;
    for (let j = 0; j < i; j++) gram[j]![i] = gi[j]!;
  }
  const withIntercept = (w: number[]): RidgeModel => ({
    intercept: yMean - w.reduce((s, wi, i) => s + wi * xMean[i]!, 0),
    weights: w,
    lambda,
  });
  // λ scales with n so the same grid means the same strength for any history size; a failed
  // factorisation (it cannot with λ > 0, barring overflow) retries with a stronger ridge.
  for (let boost = 1; boost <= 1e6; boost *= 100) {
    const penalty = Math.max(lambda, 1e-9) * boost * n;
    const a = gram.map((row, i) => row.map((v, j) => (i === j ? v + penalty : v)));
    const w = choleskySolve(a, rhs);
    if (w) return withIntercept(w);
  }
  return withIntercept(new Array<number>(d).fill(0));
}

export function predictRidge(model: RidgeModel, row: readonly number[]): number {
  let sum = model.intercept;
  // A stored model's row may be shorter than its weights: a missing feature adds nothing.
  for (let i = 0; i < model.weights.length; i++) sum += model.weights[i]! * (row[i] ?? 0);
  return Number.isFinite(sum) ? sum : model.intercept;
}

/** The λ grid tried by the inner validation (per sample, see fitRidge). */
export const LAMBDA_GRID = [0.001, 0.01, 0.1, 1, 10] as const;

/**
 * Chooses λ on an inner split of the training rows (every `fold`th row held out, rows assumed in a
 * random order already) by the given loss, then refits on all of them.
 */
export function fitRidgeTuned(
  x: readonly number[][],
  y: readonly number[],
  loss: (predicted: number, actual: number) => number = (p, a) => Math.abs(p - a),
  fold = 4,
): RidgeModel {
  const inner = y.map((_, i) => i % fold === fold - 1);
  const trainX = x.filter((_, i) => !inner[i]);
  const trainY = y.filter((_, i) => !inner[i]);
  const testX = x.filter((_, i) => inner[i]);
  const testY = y.filter((_, i) => inner[i]);
  let best: number = LAMBDA_GRID[2];
  if (testY.length >= 3 && trainY.length >= 3) {
    let bestLoss = Number.POSITIVE_INFINITY;
    for (const lambda of LAMBDA_GRID) {
      const model = fitRidge(trainX, trainY, lambda);
      let total = 0;
      for (let i = 0; i < testY.length; i++) total += loss(predictRidge(model, testX[i]!), testY[i]!);
      if (total < bestLoss) {
        bestLoss = total;
        best = lambda;
      }
    }
  }
  return fitRidge(x, y, best);
}
