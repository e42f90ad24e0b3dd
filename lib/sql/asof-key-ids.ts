import type { Dialect } from './dialect.ts';
import type { PlannedView } from './point-in-time-plan.ts';

/**
 * Dense whole-number ids for the join keys of DuckDB's ASOF join. The join sorts both sides by
 * (keys, time); with a string key that sort compares variable-length keys, with a `UINTEGER`
 * id and a timestamp it sorts fixed-size keys, the cheaper case. Each key set of the request
 * gets one materialized relation numbering the distinct non-NULL key tuples of the entity
 * rows; the entity rows take their id by a LEFT JOIN (a row with a NULL key gets none and
 * matches nothing, as `=` on the key would), the source rows by an inner JOIN (rows of keys no
 * entity row asks for are dropped, as the ASOF join would never pick them). Exact: equal ids
 * mean equal key tuples, so the join picks the same winner as on the keys themselves.
 *
 * A view whose source rows already carry their tuple's number (`numberedKeys`: a sorted copy,
 * sorted-copy.ts) joins by that number instead: the entity rows take it from the source's
 * numbering, and the source rows need no join at all (rows of keys no entity row asks for stay,
 * and the join never picks them).
 */
export interface AsofKeyIds {
  /** `name AS MATERIALIZED (...)` per key set, for the query's WITH clause. */
  readonly ctes: readonly string[];
  /** The id column of `view` on both sides of its join, or undefined for a view without keys. */
  idColumn(view: PlannedView): string | undefined;
  /** The entity relation with one id column per key set. */
  entityRelation(relation: string): string;
  /** The columns `rows` of sourceRows must carry for the view's id: its keys, or the stored number. */
  sourceKeyColumns(view: PlannedView): string[];
  /** `rows` (a query with sourceKeyColumns) with the id instead of the keys. */
  sourceRows(view: PlannedView, rows: string, columns: readonly string[]): string;
}

/** Rows whose key tuples are numbered already: `numbering` has the `keys` and `fstore_key_id`. */
export interface NumberedKeys {
  /** The key columns, sorted by name. */
  readonly keys: readonly string[];
  readonly numbering: string;
}

export function asofKeyIds(
  views: readonly PlannedView[],
  dialect: Dialect,
  entityRelation: string,
  numberedKeys?: ReadonlyMap<string, NumberedKeys>,
): AsofKeyIds {
  const q = dialect.quote;
  const keySetOf = (view: PlannedView) => {
    const keys = JSON.stringify(view.joinKeys.map((k) => k.name).sort());
    const numbered = numberedKeys?.get(view.source);
    return numbered && JSON.stringify(numbered.keys) === keys
      ? JSON.stringify(['numbered', view.source])
      : keys;
  };
  const sets = new Map<
    string,
    { index: number; keys: readonly string[]; numbering?: string | undefined }
  >();
  for (const view of views) {
    if (view.joinKeys.length === 0) continue;
    const id = keySetOf(view);
    if (sets.has(id)) continue;
    const numbering = id.startsWith('["numbered"')
      ? numberedKeys?.get(view.source)?.numbering
      : undefined;
    sets.set(id, { index: sets.size, keys: view.joinKeys.map((k) => k.name), numbering });
  }
  const relationName = (index: number) => q(`fstore_key_ids_${index}`);
  const idName = (index: number) => `fstore_key_${index}`;
  const on = (keys: readonly string[], left: string, right: string) =>
    keys.map((k) => `${left}.${q(k)} = ${right}.${q(k)}`).join(' AND ');
  const ctes = [...sets.values()].map(({ index, keys, numbering }) => {
    const columns = keys.map(q).join(', ');
    if (numbering !== undefined)
      return `${relationName(index)} AS MATERIALIZED (\n  SELECT ${columns}, fstore_key_id AS ${idName(index)} FROM (\n${numbering}\n  )\n)`;
    const present = keys.map((k) => `${q(k)} IS NOT NULL`).join(' AND ');
    return [
      `${relationName(index)} AS MATERIALIZED (`,
      // Numbered in key order: a sorted copy's rows (sorted-copy.ts) then reach the join
      // already ordered by (id, time), which DuckDB sorts at a fraction of the cost.
      `  SELECT ${columns}, CAST(row_number() OVER (ORDER BY ${[...keys].sort().map(q).join(', ')}) AS UINTEGER) AS ${idName(index)}`,
      `  FROM (SELECT DISTINCT ${columns} FROM ${entityRelation} WHERE ${present})`,
      ')',
    ].join('\n');
  });
  const setOf = (view: PlannedView) => sets.get(keySetOf(view));
  return {
    ctes,
    idColumn: (view) => {
      const set = setOf(view);
      return set === undefined ? undefined : idName(set.index);
    },
    entityRelation: (relation) => {
      if (sets.size === 0) return relation;
      const ids = [...sets.values()];
      return [
        `(SELECT ke.*, ${ids.map(({ index }) => `ki${index}.${idName(index)}`).join(', ')}`,
        `  FROM ${relation} ke`,
        ...ids.map(
          ({ index, keys }) =>
            `  LEFT JOIN ${relationName(index)} ki${index} ON ${on(keys, 'ke', `ki${index}`)}`,
        ),
        ')',
      ].join('\n');
    },
    sourceKeyColumns: (view) =>
      setOf(view)?.numbering !== undefined
        ? ['fstore_key_id']
        : view.joinKeys.map((k) => q(k.name)),
    sourceRows: (view, rows, columns) => {
      const set = setOf(view);
      if (set === undefined) return rows;
      if (set.numbering !== undefined)
        return `SELECT kr.fstore_key_id AS ${idName(set.index)}, ${columns.map((c) => `kr.${c}`).join(', ')}\n  FROM (\n${rows}\n) kr`;
      return [
        `SELECT ki.${idName(set.index)}, ${columns.map((c) => `kr.${c}`).join(', ')}`,
        `  FROM (\n${rows}\n) kr`,
        `  JOIN ${relationName(set.index)} ki ON ${on(set.keys, 'kr', 'ki')}`,
      ].join('\n');
    },
  };
}
