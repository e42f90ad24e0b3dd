import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import type { RegistrySource } from '../registry/index.ts';
import { quoteIdentifier } from '../sql/dialect.ts';
import { type ErasureKey, keyColumnsOf, matchPredicate } from './erasure-keys.ts';

/** A source's name and columns (fieldMapping: raw key columns stored under another name). */
type SourceColumns = Pick<RegistrySource, 'name' | 'schema'> &
  Partial<Pick<RegistrySource, 'fieldMapping'>>;

/** One S3 object of a source holding rows of the keys. */
export interface ObjectHoldingKeys {
  /** The object key in the offline bucket (no `s3://<bucket>/`). */
  readonly key: string;
  readonly rows: number;
  /**
   * The smallest `fstore_seq` of those rows (the snapshots pinning it or more held them);
   * absent when the object has no such column (Athena reads it as NULL).
   */
  readonly minSeq?: bigint;
}

/**
 * The first step of deleting an entity on AWS (not wired to a command yet; README, "Deleting an
 * entity"): Athena SQL naming every object of `source`'s Glue table that holds a row of `keys`,
 * by the hidden `"$path"` column, with how many rows each holds. It reads the table itself, not
 * fstore's committed relation: an object no ingest committed, or one a compaction replaced and
 * still keeps, holds the rows too and must go as well. `dt` is not pruned (the entity's rows may
 * be in any day), so the query scans the key column (and `fstore_seq`) of every object.
 */
export function renderObjectsHoldingKeys(
  database: string,
  source: SourceColumns,
  keys: readonly ErasureKey[],
): string | undefined {
  const predicate = matchPredicate(
    keys,
    keyColumnsOf(source, keys),
    new Set(source.schema.map((column) => column.name)),
  );
  if (predicate === 'FALSE') return undefined;
  return `SELECT "$path" AS "object", count(*) AS "rows", min("fstore_seq") AS "min_seq" FROM ${quoteIdentifier(database)}.${quoteIdentifier(source.name)} WHERE ${predicate} GROUP BY "$path" ORDER BY "$path"`;
}

/** Runs renderObjectsHoldingKeys's query and reads every page of its answer. */
export async function objectsHoldingKeys(
  runner: AthenaQueryRunner,
  database: string,
  source: SourceColumns,
  keys: readonly ErasureKey[],
  signal?: AbortSignal,
): Promise<ObjectHoldingKeys[]> {
  const sql = renderObjectsHoldingKeys(database, source, keys);
  if (!sql) return [];
  const { queryExecutionId } = await runner.run(sql, signal ? { signal } : {});
  const found: ObjectHoldingKeys[] = [];
  for await (const row of runner.rows(queryExecutionId)) {
    const path = row.object ?? '';
    const minSeq = row.min_seq ?? '';
    found.push({
      key: path.replace(/^[a-z0-9]+:\/\/[^/]+\//, ''),
      rows: Number(row.rows ?? 0),
      ...(/^-?\d+$/.test(minSeq) ? { minSeq: BigInt(minSeq) } : {}),
    });
  }
  return found;
}

/**
 * What the AWS deletion does with each object found: a committed one is rewritten without the
 * rows and committed like a compaction (`rewrite`); one a committed compaction replaced is
 * deleted, with its noncurrent versions (`remove`); any other no record names yet, which may be
 * an ingest's uploaded before its record (S3 ingests take no lock), is written again at the same
 * key without the rows (`rewriteInPlace`): deleting it would lose the ingest's other rows.
 */
export function splitByCommitted(
  found: readonly ObjectHoldingKeys[],
  committed: ReadonlySet<string>,
  replaced: ReadonlySet<string>,
): {
  rewrite: ObjectHoldingKeys[];
  remove: ObjectHoldingKeys[];
  rewriteInPlace: ObjectHoldingKeys[];
} {
  return {
    rewrite: found.filter((o) => committed.has(o.key)),
    remove: found.filter((o) => !committed.has(o.key) && replaced.has(o.key)),
    rewriteInPlace: found.filter((o) => !committed.has(o.key) && !replaced.has(o.key)),
  };
}
