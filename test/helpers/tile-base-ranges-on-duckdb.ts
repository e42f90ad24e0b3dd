import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A tile base query's shipped ranges (the CSV object `seqBucketRows` writes) as DuckDB reads
 * them: written to `dir/<run>.csv` and read with the columns of `fstore_tile_base_ranges`.
 */
export function duckdbTileBaseRanges(dir: string, run: string, csv: string | Buffer): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${run}.csv`);
  writeFileSync(file, csv);
  return `(SELECT fstore_bucket, fstore_first, fstore_last FROM read_csv('${file.replaceAll("'", "''")}', header = false, auto_detect = false, columns = {'fstore_bucket': 'BIGINT', 'fstore_first': 'BIGINT', 'fstore_last': 'BIGINT'}))`;
}

/**
 * A handler's `tileBaseRangesRelation` over the loopback bucket: each shipped object (put just
 * before) read on DuckDB from a copy under `dir()`, its key kept in `keys`.
 */
export function shippedRangesOnDuckdb(objects: () => Map<string, Buffer>, dir: () => string) {
  const keys: string[] = [];
  return {
    keys,
    relation: (run: string, key: string) => {
      const csv = objects().get(key);
      if (!csv) throw new Error(`no shipped ranges at ${key}`);
      keys.push(key);
      return duckdbTileBaseRanges(dir(), run, csv);
    },
  };
}
