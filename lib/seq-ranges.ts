/** Inclusive `[first, last]` ranges of `fstore_seq` values. */
export type SeqRange = readonly [bigint, bigint];

/** The ranges sorted, overlapping or touching ones (last + 1 = next first) joined. */
export function mergeSeqRanges(ranges: readonly SeqRange[]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [first, last] of sorted) {
    if (first > last) throw new Error(`internal: the seq range [${first}, ${last}] is empty`);
    const previous = merged[merged.length - 1];
    if (previous && first <= previous[1] + 1n)
      previous[1] = last > previous[1] ? last : previous[1];
    else merged.push([first, last]);
  }
  return merged;
}

/**
 * The values of `kept` that no range of `leftOut` holds, as merged ranges: what is between two
 * ranges of `kept` stays out, so the result never holds a value `kept` does not.
 */
export function subtractSeqRanges(
  kept: readonly SeqRange[],
  leftOut: readonly SeqRange[],
): [bigint, bigint][] {
  const holes = mergeSeqRanges(leftOut);
  const result: [bigint, bigint][] = [];
  let h = 0;
  for (const [first, last] of mergeSeqRanges(kept)) {
    let from = first;
    while (h < holes.length && (holes[h] as SeqRange)[1] < from) h++;
    for (let i = h; i < holes.length && from <= last; i++) {
      const [holeFirst, holeLast] = holes[i] as SeqRange;
      if (holeFirst > last) break;
      if (holeFirst > from) result.push([from, holeFirst - 1n]);
      if (holeLast + 1n > from) from = holeLast + 1n;
    }
    if (from <= last) result.push([from, last]);
  }
  return result;
}
