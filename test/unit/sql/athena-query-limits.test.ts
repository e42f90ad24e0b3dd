import path from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';
import { athenaOfflineValues } from '../../../lib/quality/verify-online.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import {
  AthenaQueryTooLongError,
  athenaQueryBytes,
  maxAthenaQueryBytes,
} from '../../../lib/sql/athena-query-size.ts';
import { renderServiceRequestSql } from '../../../lib/sql/athena-service-query.ts';
import { buildRandomRegistry, type RegistryShape } from '../../helpers/random-registry.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const examples = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const athena = mockClient(AthenaClient);
const runner = new AthenaQueryRunner({
  athena: new AthenaClient({ region: 'eu-west-1' }),
  workgroup: 'fstore-dev',
  database: 'fstore_dev',
  sleep: async () => {},
});

/** `SELECT '…'` of exactly `bytes` UTF-8 bytes, with two-byte characters in it. */
const queryOfBytes = (bytes: number) => {
  const head = "SELECT 'é";
  return `${head}${'x'.repeat(bytes - athenaQueryBytes(head) - 1)}'`;
};

describe("Athena's query string limit (262,144 bytes, not adjustable)", () => {
  beforeEach(() => {
    athena.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  });

  it('sends a query of exactly 262,144 bytes, counted in UTF-8 bytes, not characters', async () => {
    const sql = queryOfBytes(maxAthenaQueryBytes);
    expect(sql.length).toBe(maxAthenaQueryBytes - 1);
    await runner.run(sql);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString).toBe(sql);
  });

  it('refuses one byte more before calling Athena, naming the query and both sizes', async () => {
    await expect(runner.run(queryOfBytes(maxAthenaQueryBytes + 1))).rejects.toThrow(
      /^the Athena query "SELECT 'éxxx.*" is 262,145 bytes of SQL; Athena accepts at most 262,144$/,
    );
    await expect(runner.run(queryOfBytes(maxAthenaQueryBytes + 1))).rejects.toBeInstanceOf(
      AthenaQueryTooLongError,
    );
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

describe('prepared statements (CreatePreparedStatement allows the same 262,144 bytes)', () => {
  it('fit for the example services with room to spare', () => {
    for (const service of examples.featureServices) {
      const bytes = athenaQueryBytes(renderServiceRequestSql(examples, service.name, 'fstore_dev'));
      expect(bytes, service.name).toBeLessThan(maxAthenaQueryBytes / 20);
    }
  });

  it('refuse at render time (so at synth) a service whose SQL Athena would refuse, naming it', () => {
    const wide: RegistryShape['views'][number] = {
      aggregation: true,
      columns: ['float64', 'float64', 'float64', 'float64'],
      created: false,
      nullable: true,
      bounds: undefined,
      allowed: undefined,
      ttl: undefined,
      online: false,
      functions: ['count', 'sum', 'avg'],
      windows: ['1h', '7d', '30d'],
      alias: false,
    };
    const oneView = buildRandomRegistry({ joinKeys: [['key_0', 'string']], views: [wide] });
    const threeViews = buildRandomRegistry({
      joinKeys: [['key_0', 'string']],
      views: [wide, wide, wide],
    });
    if (!oneView || !threeViews) throw new Error('the shapes define views');
    expect(athenaQueryBytes(renderServiceRequestSql(oneView, 'svc', 'fstore_dev'))).toBeLessThan(
      maxAthenaQueryBytes,
    );
    expect(() => renderServiceRequestSql(threeViews, 'svc', 'fstore_dev')).toThrow(
      /^the training-set SQL of feature service "svc" is [\d,]+ bytes of SQL; Athena accepts at most 262,144$/,
    );
  });
});

describe('verify-online on Athena (entity rows inline as VALUES)', () => {
  const dialect = athenaDialect('fstore_dev');
  const sample = (n: number, key = (i: number) => `C${String(i).padStart(7, '0')}`) =>
    Array.from({ length: n }, (_, i) => ({
      customer_id: key(i),
      event_timestamp: '2026-03-01T10:00:00.000001Z',
    }));
  /** Answers like Athena: one row per VALUES row, in fstore_row_id order, with its key. */
  const recording = () => {
    const sent: string[] = [];
    const query = async (sql: string) => {
      sent.push(sql);
      return [...sql.matchAll(/\('((?:[^']|'')*)', TIMESTAMP '[^']*', (\d+)\)/g)]
        .map((m) => ({ customer_id: m[1]?.replaceAll("''", "'"), row: Number(m[2]) }))
        .sort((a, b) => a.row - b.row);
    };
    return { sent, query };
  };

  it('sends the default sample of 1,000 items as one query', async () => {
    const { sent, query } = recording();
    const rows = await athenaOfflineValues(
      examples,
      query,
      dialect,
    )('customer_profile', sample(1000));
    expect(sent).toHaveLength(1);
    expect(rows).toHaveLength(1000);
  });

  it('splits a sample too large for one query into queries that each fit, rows in sample order', async () => {
    const { sent, query } = recording();
    const entities = sample(12_000);
    const rows = await athenaOfflineValues(examples, query, dialect)('customer_profile', entities);
    expect(sent.length).toBeGreaterThan(1);
    for (const sql of sent) expect(athenaQueryBytes(sql)).toBeLessThanOrEqual(maxAthenaQueryBytes);
    // Each query is more than half full: halving stops as soon as the parts fit.
    for (const sql of sent) expect(athenaQueryBytes(sql)).toBeGreaterThan(maxAthenaQueryBytes / 2);
    expect(rows.map((r) => r.customer_id)).toEqual(entities.map((e) => e.customer_id));
  });

  it('refuses, naming the view, an entity whose key alone makes the query too long', async () => {
    const { sent, query } = recording();
    const huge = sample(3, (i) => (i === 1 ? 'K'.repeat(maxAthenaQueryBytes) : `C${i}`));
    await expect(
      athenaOfflineValues(examples, query, dialect)('customer_profile', huge),
    ).rejects.toThrow(/^the verify-online query of view "customer_profile" for one entity is/);
    expect(sent).toHaveLength(1);
  });
});
