import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import {
  entityRequestColumns,
  renderServiceRequestSql,
} from '../../lib/sql/athena-service-query.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { repoRoot } from '../helpers/run-fstore.ts';

const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));

describe('Athena-only training set for a feature service', () => {
  it('has an entity-request table of row_key, the join keys and event_timestamp', () => {
    expect(entityRequestColumns(registry, 'churn_online')).toEqual([
      { name: 'row_key', type: 'string' },
      { name: 'customer_id', type: 'string' },
      { name: 'event_timestamp', type: 'timestamp' },
    ]);
  });

  it('renders one statement with a single request_id parameter', async () => {
    const sql = renderServiceRequestSql(registry, 'churn_online', 'fstore_dev');
    expect(sql.match(/\?/g)).toHaveLength(1);
    expect(sql).toContain('FROM "fstore_dev"."fstore_requests_churn_online"');
    await expect(sql).toMatchFileSnapshot('__snapshots__/churn_online.request.athena.sql');
  });

  it('returns, for the rows of one request only, what getTrainingSet returns (run on DuckDB)', async () => {
    const withDefs = await offlineFixture(
      (await loadDefinitions(path.join(repoRoot, 'feature-defs'))).map((d) => d.definition),
    );
    await withDefs.ingest('customer_profiles', [
      {
        customer_id: 'C1',
        age: 30,
        plan: 'basic',
        region: 'north',
        monthly_charges: 20,
        tenure_months: 3,
        event_ts: '2026-03-01T00:00:00Z',
        created_ts: '2026-03-01T00:00:00Z',
      },
      {
        customer_id: 'C1',
        age: 30,
        plan: 'premium',
        region: 'north',
        monthly_charges: 90,
        tenure_months: 4,
        event_ts: '2026-03-10T00:00:00Z',
        created_ts: '2026-03-10T00:00:00Z',
      },
    ]);
    await withDefs.ingest('customer_contracts', [
      {
        customer_id: 'C1',
        contract_type: 'one_year',
        payment_method: 'card',
        event_ts: '2026-02-01T00:00:00Z',
        created_ts: '2026-02-01T00:00:00Z',
      },
    ]);
    await withDefs.ingest('orders', [
      {
        order_id: 'O1',
        customer_id: 'C1',
        amount: 12.5,
        category: 'books',
        event_ts: '2026-03-05T00:00:00Z',
        created_ts: '2026-03-05T00:00:00Z',
      },
    ]);

    const session = await openDuckdb();
    const { connection } = session;
    await connection.run('CREATE SCHEMA fstore_dev');
    await connection.run(`CREATE TABLE fstore_dev.fstore_requests_churn_online AS SELECT * FROM (VALUES
      ('mine', 'a', 'C1', TIMESTAMP '2026-03-06 00:00:00'),
      ('mine', 'b', 'C1', TIMESTAMP '2026-03-11 00:00:00'),
      ('mine', 'c', 'C2', TIMESTAMP '2026-03-11 00:00:00'),
      ('other', 'z', 'C1', TIMESTAMP '2026-03-11 00:00:00')
    ) t(request_id, row_key, customer_id, event_timestamp)`);
    const sql = renderServiceRequestSql(
      registry,
      'churn_online',
      'fstore_dev',
      duckdbDialect(offlineRoot(withDefs.dataDir, 'local')),
    );
    const prepared = await connection.prepare(sql);
    prepared.bindVarchar(1, 'mine');
    const reader = await prepared.runAndReadAll();
    const rows = reader.getRowObjectsJson();
    session.close();

    // getTrainingSet on the same data, for the same entity rows (row_key rides along as a label).
    const mine = [
      { row_key: 'a', customer_id: 'C1', event_timestamp: '2026-03-06T00:00:00Z' },
      { row_key: 'b', customer_id: 'C1', event_timestamp: '2026-03-11T00:00:00Z' },
      { row_key: 'c', customer_id: 'C2', event_timestamp: '2026-03-11T00:00:00Z' },
    ];
    const instant = (value: unknown) => {
      const text = String(value).replace(' ', 'T');
      const ms = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(text) ? text : `${text}Z`);
      expect(ms, `timestamp ${String(value)}`).not.toBeNaN();
      return ms;
    };
    for (const strategy of ['asof', 'merge-window'] as const) {
      const trainingSet = await withDefs.trainingSet(mine, {
        request: { service: 'churn_online' },
        strategy,
      });
      const records = trainingSet.records ?? [];
      expect(
        rows.map((r) => Object.keys(r).sort()),
        strategy,
      ).toEqual(records.map((r) => Object.keys(r).sort()));
      expect(
        rows.map((r) => ({ ...r, event_timestamp: instant(r.event_timestamp) })),
        strategy,
      ).toEqual(records.map((r) => ({ ...r, event_timestamp: instant(r.event_timestamp) })));
    }
    // And what that is, so the comparison above is not of two empty answers.
    expect(rows).toEqual([
      {
        row_key: 'a',
        customer_id: 'C1',
        event_timestamp: '2026-03-06 00:00:00',
        plan: 'basic',
        monthly_charges: 20,
        tenure_months: 3,
        contract_type: 'one_year',
        last_order_amount: 12.5,
      },
      {
        row_key: 'b',
        customer_id: 'C1',
        event_timestamp: '2026-03-11 00:00:00',
        plan: 'premium',
        monthly_charges: 90,
        tenure_months: 4,
        contract_type: 'one_year',
        last_order_amount: 12.5,
      },
      {
        row_key: 'c',
        customer_id: 'C2',
        event_timestamp: '2026-03-11 00:00:00',
        plan: null,
        monthly_charges: null,
        tenure_months: null,
        contract_type: null,
        last_order_amount: null,
      },
    ]);
  });
});
