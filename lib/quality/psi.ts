/** Proportions below this count as this, so an empty bin does not make PSI infinite. */
export const psiFloor = 1e-4;

/**
 * Population Stability Index of two histograms over the same bins (counts, not proportions):
 * Σ (c - b) · ln(c / b) over the bins' shares b (baseline) and c (current). 0 means the same
 * distribution; about 0.1 a small shift, above 0.2 a large one.
 */
export function psi(baseline: readonly number[], current: readonly number[]): number {
  if (baseline.length !== current.length) throw new Error('histograms have different bins');
  const totalB = baseline.reduce((s, v) => s + v, 0);
  const totalC = current.reduce((s, v) => s + v, 0);
  if (totalB === 0 || totalC === 0) return 0;
  let sum = 0;
  for (let i = 0; i < baseline.length; i++) {
    const b = Math.max((baseline[i] ?? 0) / totalB, psiFloor);
    const c = Math.max((current[i] ?? 0) / totalC, psiFloor);
    sum += (c - b) * Math.log(c / b);
  }
  return sum;
}
