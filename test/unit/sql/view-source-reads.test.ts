import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { type PlannedView, planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import {
  featureSourceColumns,
  featureValue,
  viewSourceRelation,
} from '../../../lib/sql/view-source.ts';

// lib/sql/view-source.ts, run by DuckDB: the rows every read of a view's source sees (its row
// filter applied), the columns a view reads, and each feature's value as its declared type. A
// Stryker run of the file against the expression tests reached none of featureSourceColumns and
// not the widening CAST.

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const schema = {
  customer_id: 'string',
  plan: 'string',
  age: 'int32',
  monthly: 'float64',
  event_ts: 'timestamp',
} as const;
const filtered = defineSource({
  name: 'profiles',
  schema,
  timestampField: 'event_ts',
  filter: "plan <> 'trial'",
});
const unfiltered = defineSource({ name: 'people', schema, timestampField: 'event_ts' });
const features = {
  plan: 'string',
  age: 'float64',
  annual: { expr: 'monthly * 12' },
  senior: { expr: 'age >= 65 AND plan IS NOT NULL' },
} as const;
const registry = compileRegistry(
  [
    defineFeatureView({ name: 'profile', entities: [customer], source: filtered, features }),
    defineFeatureView({ name: 'person', entities: [customer], source: unfiltered, features }),
  ].map((definition) => ({ definition })),
);
const planned = (view: string): PlannedView => {
  const plan = planPointInTime(
    registry,
    { features: [`${view}:*`] },
    { entityTimestampColumn: 'event_timestamp' },
  );
  return plan.views[0] as PlannedView;
};

let session: DuckdbSession;
let root: string;
const dialect = () => duckdbDialect(root);

beforeAll(async () => {
  session = await openDuckdb();
  root = mkdtempSync(path.join(tmpdir(), 'fstore-view-source-'));
  const rows = `SELECT * FROM (VALUES
      ('C1', 'basic', 30, 10.5, TIMESTAMP '2026-01-01 00:00:00'),
      ('C2', 'trial', 70, 0.0, TIMESTAMP '2026-01-01 00:00:00'),
      ('C3', NULL, 66, 2.0, TIMESTAMP '2026-01-01 00:00:00')
    ) AS t(customer_id, plan, age, monthly, event_ts)`;
  for (const source of ['profiles', 'people']) {
    const dir = path.join(root, source, 'dt=2026-01-01');
    mkdirSync(dir, { recursive: true });
    await session.connection.run(
      `COPY (SELECT customer_id, plan, age::INTEGER AS age, monthly::DOUBLE AS monthly, event_ts FROM (${rows})) TO '${path.join(dir, 'a.parquet')}' (FORMAT parquet)`,
    );
  }
});

afterAll(() => {
  session?.close();
  rmSync(root, { recursive: true, force: true });
});

const featureRows = (view: string) => {
  const plannedView = planned(view);
  const values = plannedView.features.map(
    (f) => `${featureValue(f, dialect())} AS ${dialect().quote(f.outputName)}`,
  );
  return queryRows(
    session.connection,
    `SELECT customer_id, ${values.join(', ')} FROM ${viewSourceRelation(plannedView, dialect())} ORDER BY customer_id`,
  );
};

describe("a view's source rows", () => {
  it('keeps only the rows its source filter holds TRUE for (NULL is not TRUE)', async () => {
    expect((await featureRows('profile')).map((r) => r.customer_id)).toEqual(['C1']);
  });

  it('are every stored row when the source has no filter, read from the relation itself', async () => {
    expect(viewSourceRelation(planned('person'), dialect())).toBe(
      dialect().sourceRelation('people'),
    );
    expect((await featureRows('person')).map((r) => r.customer_id)).toEqual(['C1', 'C2', 'C3']);
  });
});

describe("a feature's value over a source row", () => {
  it('is the column as declared (widened by a CAST), or the expression as its type', async () => {
    expect(await featureRows('person')).toEqual([
      { customer_id: 'C1', plan: 'basic', age: 30, annual: 126, senior: false },
      { customer_id: 'C2', plan: 'trial', age: 70, annual: 0, senior: true },
      { customer_id: 'C3', plan: null, age: 66, annual: 24, senior: false },
    ]);
    const types = await queryRows(
      session.connection,
      `SELECT typeof(${planned('person')
        .features.map((f) => featureValue(f, dialect()))
        .join('), typeof(')}) FROM ${dialect().sourceRelation('people')} LIMIT 1`,
    );
    expect(Object.values(types[0] ?? {})).toEqual(['VARCHAR', 'DOUBLE', 'DOUBLE', 'BOOLEAN']);
  });

  it('reads a column of the declared type as it is, without a CAST', () => {
    const plan = planned('person').features.find((f) => f.feature === 'plan');
    if (!plan) throw new Error('no plan feature');
    expect(featureValue(plan, dialect())).toBe('"plan"');
  });
});

describe('the source columns a view reads', () => {
  it("lists each once: plain features' columns, derived features' inputs, the row filter's", () => {
    expect(featureSourceColumns(planned('profile'))).toEqual(['plan', 'age', 'monthly']);
    expect(featureSourceColumns(planned('person'))).toEqual(['plan', 'age', 'monthly']);
    const onlyDerived = planPointInTime(
      registry,
      { features: ['profile:annual'] },
      { entityTimestampColumn: 'event_timestamp' },
    ).views[0] as PlannedView;
    // `plan` comes from the filter alone.
    expect(featureSourceColumns(onlyDerived)).toEqual(['monthly', 'plan']);
  });
});
