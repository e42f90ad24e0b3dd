/** The candidates closest to `input` by edit distance, for "did you mean" hints. */
export function closestNames(input: string, candidates: readonly string[], limit = 3): string[] {
  return candidates
    .map((name) => ({ name, distance: editDistance(input, name) }))
    .filter(({ name, distance }) => distance <= Math.max(2, Math.floor(name.length / 3)))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map(({ name }) => name);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** `; did you mean "x"?` for the one closest candidate, or '' when nothing is close. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const [closest] = closestNames(
    input,
    [...candidates].filter((name) => name !== input),
    1,
  );
  return closest === undefined ? '' : `; did you mean "${closest}"?`;
}
