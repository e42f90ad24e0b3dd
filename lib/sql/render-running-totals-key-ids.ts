import type { Dialect } from './dialect.ts';

/**
 * Dense integer key ids of stored running totals (ADR 0007, "Integer key ids"). The lookup's
 * ASOF join sorts both sides by (key, time); sorting on an integer id instead of the join keys
 * (often VARCHAR) is most of what makes it cheaper. A totals file holds two kinds of rows:
 * - totals rows: the join keys, `fstore_t`, the totals and the key's `fstore_key_id`;
 * - one key-id row per key (the dictionary): the join keys and `fstore_key_id`, every other
 *   column NULL. `fstore_rows` (a row count, never NULL in a totals row) tells them apart.
 * Keeping the dictionary in the same file keeps one file per build and one rename as its commit
 * point. An increment's dictionary is its base's plus its new keys: ids are never renumbered.
 */
export const keyIdColumn = 'fstore_key_id';

/** The column that is NULL exactly in key-id rows. */
const totalsMarker = 'fstore_rows';

/** The totals rows of a stored totals relation (its key-id rows left out). */
export function totalsRowsOf(stored: string): string {
  return `(SELECT * FROM ${stored} WHERE ${totalsMarker} IS NOT NULL)`;
}

/** The dictionary of a stored totals relation: join keys and `fstore_key_id`, one row a key. */
export function keyIdRowsOf(keys: readonly string[], dialect: Dialect, stored: string): string {
  const columns = [...keys.map(dialect.quote), keyIdColumn].join(', ');
  return `(SELECT ${columns} FROM ${stored} WHERE ${totalsMarker} IS NULL)`;
}

/**
 * Ids for every key of `known` (a dictionary, kept as it is) and of `keysOf` (a relation with
 * the join keys) that `known` lacks, numbered on from `known`'s largest id in key order. Without
 * `known`, ids 1..n in key order. NULL keys get an id too: totals keep their rows.
 */
export function renderKeyIds(
  keys: readonly string[],
  dialect: Dialect,
  keysOf: string,
  known?: string,
): string {
  const quoted = keys.map(dialect.quote);
  const list = quoted.join(', ');
  const fresh = `SELECT DISTINCT ${quoted.map((k) => `fstore_n.${k}`).join(', ')} FROM ${keysOf} fstore_n`;
  if (!known)
    return `SELECT ${list}, row_number() OVER (ORDER BY ${list}) AS ${keyIdColumn} FROM (${fresh}) fstore_new_keys`;
  const sameKey = quoted
    .map((k) => `fstore_n.${k} IS NOT DISTINCT FROM fstore_i.${k}`)
    .join(' AND ');
  return [
    `SELECT ${list}, ${keyIdColumn} FROM ${known}`,
    'UNION ALL',
    `SELECT ${list}, (SELECT coalesce(max(${keyIdColumn}), 0) FROM ${known}) + row_number() OVER (ORDER BY ${list}) AS ${keyIdColumn}`,
    `FROM (${fresh} ANTI JOIN ${known} fstore_i ON ${sameKey}) fstore_new_keys`,
  ].join('\n');
}

/**
 * What a totals file holds: every row of `totals` (keys, `fstore_t`, totals; no id; its columns
 * in the order they are written) with its key's id from `ids` (renderKeyIds, which must hold
 * every key of `totals`), then `ids` as key-id rows.
 */
export function renderTotalsWithKeyIds(
  keys: readonly string[],
  dialect: Dialect,
  totals: string,
  ids: string,
): string {
  const q = dialect.quote;
  const sameKey = keys
    .map((k) => `fstore_r.${q(k)} IS NOT DISTINCT FROM fstore_i.${q(k)}`)
    .join(' AND ');
  return renderWithKeyIdRows(
    keys,
    dialect,
    `(SELECT fstore_r.*, fstore_i.${keyIdColumn} FROM ${totals} fstore_r JOIN ${ids} fstore_i ON ${sameKey})`,
    ids,
  );
}

/** A totals file's rows: `totals` (whose rows carry their key ids), then `ids` as key-id rows. */
export function renderWithKeyIdRows(
  keys: readonly string[],
  dialect: Dialect,
  totals: string,
  ids: string,
): string {
  return [
    `SELECT * FROM ${totals} fstore_totals`,
    'UNION ALL BY NAME',
    `SELECT ${keys.map(dialect.quote).join(', ')}, ${keyIdColumn} FROM ${ids}`,
  ].join('\n');
}
