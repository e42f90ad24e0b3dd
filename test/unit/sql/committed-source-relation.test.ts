import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import {
  ingestIdInObjectPath,
  ingestIdOfObjectPath,
  ingestRecordKey,
  ingestRecordsTable,
} from '../../../lib/offline/ingest-records.ts';
import { athenaDialect, committedSourceRelation } from '../../../lib/sql/athena-dialect.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const trino = new TrinoSQL();
const syntaxErrors = (sql: string) => trino.validate(sql).map((e) => e.message);

const committed = '20260301t101500-0a1b2c3d';
const uncommitted = '20260301t101501-ffffffff';
/** Record ids as the `fstore_ingests` table lists them for source `orders`. */
const records = new Set([committed, '20251130t235959-12345678']);
/** What the Athena filter keeps: objects whose path yields an id that has a record. */
const kept = (objectPath: string) => {
  const id = ingestIdOfObjectPath(objectPath);
  return id !== undefined && records.has(id);
};

describe('the ingest id in a data object path', () => {
  it('is found in keys and s3:// paths of the current naming and of stores written before the commit rule', () => {
    expect(ingestIdOfObjectPath(`offline/orders/dt=2026-03-01/${committed}-0.parquet`)).toBe(
      committed,
    );
    expect(
      ingestIdOfObjectPath(`s3://bucket/offline/orders/dt=2026-03-01/${committed}-17.parquet`),
    ).toBe(committed);
    // An id whose hex part is all digits: the last "-<n>.parquet" is the file number.
    expect(
      ingestIdOfObjectPath(
        's3://b/offline/orders/dt=2025-11-30/20251130t235959-12345678-3.parquet',
      ),
    ).toBe('20251130t235959-12345678');
  });

  it('keeps objects of committed ingests and drops those of an ingest with no record', () => {
    expect(kept(`s3://b/offline/orders/dt=2026-03-01/${committed}-0.parquet`)).toBe(true);
    expect(kept(`s3://b/offline/orders/dt=2026-03-02/${committed}-1.parquet`)).toBe(true);
    expect(kept(`s3://b/offline/orders/dt=2026-03-01/${uncommitted}-0.parquet`)).toBe(false);
  });

  it('yields no id (so the object is not read) for objects not named like an ingest', () => {
    for (const name of [
      'data.parquet',
      `${committed}.parquet`,
      `${committed}-0.parquet.tmp`,
      `${committed}-x.parquet`,
      `prefix-${committed}-0.parquet`,
      `${committed.toUpperCase()}-0.parquet`,
    ])
      expect(ingestIdOfObjectPath(`s3://b/offline/orders/dt=2026-03-01/${name}`), name).toBe(
        undefined,
      );
  });

  it('is the id of the record written at the commit, so a record names the objects it commits', () => {
    expect(ingestRecordKey('orders', 'abc', committed)).toBe(
      `offline/_ingests/orders/abc/${committed}.json`,
    );
  });
});

describe('the Athena source relation', () => {
  const relation = committedSourceRelation('fstore_dev', 'orders');

  it('reads the source table with ONE scan of the records of that source: ids to read, keys replaced', () => {
    expect(relation).toBe(
      `(SELECT "fstore_rows".* FROM "fstore_dev"."orders" AS "fstore_rows" CROSS JOIN (SELECT map("ids", "ids") AS "readable", map("gone", "gone") AS "replaced" FROM (SELECT array_distinct(array_agg("ingestid") FILTER (WHERE "ingestid" IS NOT NULL)) AS "ids", array_distinct(flatten(array_agg("replaces") FILTER (WHERE "replaces" IS NOT NULL))) AS "gone" FROM "fstore_dev"."${ingestRecordsTable}" WHERE "source" = 'orders') AS "fstore_lists") AS "fstore_records" WHERE element_at("fstore_records"."readable", regexp_extract("fstore_rows"."$path", '${ingestIdInObjectPath}', 1)) IS NOT NULL AND element_at("fstore_records"."replaced", regexp_replace("fstore_rows"."$path", '^[a-z0-9]+://[^/]+/', '')) IS NULL)`,
    );
    expect(relation.split(`"${ingestRecordsTable}"`)).toHaveLength(2);
    expect(athenaDialect('fstore_dev').sourceRelation('orders')).toBe(relation);
  });

  it('parses as Trino SQL alone and with a dt partition predicate outside it', () => {
    expect(syntaxErrors(`SELECT * FROM ${relation}`)).toEqual([]);
    expect(
      syntaxErrors(
        `SELECT "customer_id", "dt" FROM ${relation} WHERE "dt" BETWEEN '2026-03-01' AND '2026-03-02'`,
      ),
    ).toEqual([]);
  });

  it('is caught by the Trino parser when broken (the check can fail)', () => {
    expect(syntaxErrors(`SELECT * FROM ${relation.slice(0, -1)}`)).not.toEqual([]);
  });
});

describe('whole Athena statements reading committed ingests only', () => {
  const snapshots = [
    'test/unit/sql/__snapshots__/churn_v1.athena.sql',
    'test/unit/sql/__snapshots__/order_stats.athena.sql',
    'test/integration/__snapshots__/churn_online.request.athena.sql',
  ];

  it.each(snapshots)(
    '%s reads every source through fstore_ingests and parses as Trino SQL',
    async (file) => {
      const sql = await readFile(path.join(repoRoot, file), 'utf8');
      expect(sql).toContain(`"fstore_dev"."${ingestRecordsTable}"`);
      // No source table is read bare: each is followed by the committed-ingest filter.
      expect(sql).not.toMatch(/FROM "fstore_dev"\."(?!fstore_)[a-z_0-9]+"\s*(\n|WHERE "dt"|\))/);
      expect(syntaxErrors(sql)).toEqual([]);
    },
  );
});
