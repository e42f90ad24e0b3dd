import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { featureChecks } from '../../lib/quality/validate-data.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { writeParquet } from '../helpers/on-demand-echo-fixture.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

/**
 * A NaN or an infinity in batch data for an online view's float feature: the online store cannot
 * hold it, so materialization would quarantine the row and lookups would answer an older value
 * than training sets. Ingest refuses such rows, as it refuses other constraint violations.
 */
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const readings = defineSource({
  name: 'readings',
  schema: { customer_id: 'string', score: 'float64', ratio: 'float32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const served = defineFeatureView({
  name: 'served',
  entities: [customer],
  source: readings,
  features: { score: 'float64', ratio: 'float32' },
  online: true,
  schedule: 'rate(1 hour)',
});
const offlineOnly = defineFeatureView({
  name: 'offline_only',
  entities: [customer],
  source: readings,
  features: { score: 'float64' },
});

async function ingestRows(definitions: unknown[], select: string, allowViolations = false) {
  const registry = compileRegistry(definitions.map((definition) => ({ definition })) as never);
  const dataDir = await makeTempDir('ingest-non-finite');
  const file = await writeParquet(dataDir, 'readings.parquet', select);
  const run = () =>
    ingestFile({
      registry,
      dataDir,
      env: 'local',
      source: 'readings',
      file,
      ...(allowViolations ? { allowConstraintViolations: true } : {}),
    });
  const stored = () =>
    readdir(path.join(offlineRoot(dataDir, 'local'), 'readings')).catch(() => [] as string[]);
  return { run, stored };
}

const rowsWith = (score: string, ratio: string) =>
  `SELECT * FROM (VALUES
     ('C1', 1.5::DOUBLE, 0.5::FLOAT, TIMESTAMP '2026-03-01'),
     ('C2', ${score}, ${ratio}, TIMESTAMP '2026-03-01'),
     ('C3', NULL::DOUBLE, NULL::FLOAT, TIMESTAMP '2026-03-01')
   ) AS t(customer_id, score, ratio, event_ts)`;

describe('non-finite floats at ingest', () => {
  it("refuses NaN and infinities in an online view's float features, naming the rule and the row, and writes nothing", async () => {
    const { run, stored } = await ingestRows(
      [customer, readings, served],
      rowsWith("'NaN'::DOUBLE", "'-Infinity'::FLOAT"),
    );
    const error = (await run().catch((e: Error) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('breaks feature constraints; nothing was written');
    expect(error.message).toContain('served.score finite (online): 1 row(s), e.g. row 2');
    expect(error.message).toContain('served.ratio finite (online): 1 row(s), e.g. row 2');
    expect(await stored()).toEqual([]);
  });

  it('accepts finite values and NULLs in an online view, and NaN in a view that is not online', async () => {
    const online = await ingestRows([customer, readings, served], rowsWith('2.5', '0.25'));
    expect((await online.run()).rows).toBe(3);
    const offline = await ingestRows(
      [customer, readings, offlineOnly],
      rowsWith("'Infinity'::DOUBLE", "'NaN'::FLOAT"),
    );
    expect((await offline.run()).rows).toBe(3);
  });

  it('keeps them with --allow-violations (materialization quarantines them)', async () => {
    const { run } = await ingestRows(
      [customer, readings, served],
      rowsWith("'Infinity'::DOUBLE", '0.25'),
      true,
    );
    expect((await run()).rows).toBe(3);
  });

  it('renders the rule for each engine, for float features of online views only', () => {
    const score = { name: 'score', type: 'float64', nullable: true } as never;
    const count = { name: 'count', type: 'int64', nullable: true } as never;
    const rules = (feature: never, dialect: never, online: boolean) =>
      featureChecks(feature, dialect, online).map((c) => c.violates);
    expect(rules(score, duckdbDialect('.') as never, true)).toEqual(['NOT isfinite("score")']);
    expect(rules(score, athenaDialect('db') as never, true)).toEqual(['NOT is_finite("score")']);
    expect(rules(score, duckdbDialect('.') as never, false)).toEqual([]);
    expect(rules(count, duckdbDialect('.') as never, true)).toEqual([]);
  });
});
