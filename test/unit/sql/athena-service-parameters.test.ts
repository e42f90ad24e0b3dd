import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTrainingSetUnload } from '../../../lib/offline/athena-training-set.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import {
  bindServiceRequestParameters,
  millisecondRange,
  renderServiceRequest,
  serviceRequestLiterals,
} from '../../../lib/sql/athena-service-query.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const dialect = athenaDialect('fstore_dev');

describe('the range bound to a service statement, at Athena’s millisecond precision', () => {
  it('rounds the minimum down and the maximum up to the millisecond', () => {
    expect(
      millisecondRange({ min: '2026-03-01T10:15:00.000999Z', max: '2026-03-02T08:00:00.000001Z' }),
    ).toEqual({ min: '2026-03-01T10:15:00.000000Z', max: '2026-03-02T08:00:00.001000Z' });
  });

  it('keeps bounds that are whole milliseconds', () => {
    expect(
      millisecondRange({ min: '2026-03-01T10:15:00.123Z', max: '2026-03-02T08:00:00.456Z' }),
    ).toEqual({ min: '2026-03-01T10:15:00.123000Z', max: '2026-03-02T08:00:00.456000Z' });
  });

  it('rounds down before 1970 too (toward the past, not toward zero)', () => {
    expect(
      millisecondRange({ min: '1969-12-31T23:59:59.999500Z', max: '1969-12-31T23:59:59.999500Z' }),
    ).toEqual({ min: '1969-12-31T23:59:59.999000Z', max: '1970-01-01T00:00:00.000000Z' });
  });

  it('refuses a bound that is not a timestamp, quoting it', () => {
    expect(() => millisecondRange({ min: 'yesterday', max: '2026-03-02T08:00:00Z' })).toThrow(
      'not a timestamp: "yesterday"',
    );
  });
});

describe('binding a service statement’s parameters', () => {
  it('gives each "?" the literal its name in the parameter order asks for', () => {
    expect(
      serviceRequestLiterals(
        ['request_id', 'min', 'max', 'max'],
        { requestId: "o'k", min: '2026-03-01T00:00:00.0004Z', max: '2026-03-01T00:00:00.0004Z' },
        dialect,
      ),
    ).toEqual([
      "'o''k'",
      "TIMESTAMP '2026-03-01 00:00:00.000000'",
      "TIMESTAMP '2026-03-01 00:00:00.001000'",
      "TIMESTAMP '2026-03-01 00:00:00.001000'",
    ]);
  });

  it('binds the UNLOAD of fstore training-set in the statement’s order, with the range widened to milliseconds', () => {
    const sql = renderTrainingSetUnload({
      registry,
      service: 'churn_online',
      database: 'fstore_dev',
      requestId: 'r1',
      entityTimeRange: { min: '2026-03-01T10:15:00.000999Z', max: '2026-03-02T08:00:00.000001Z' },
      location: 's3://b/training-sets/churn_online/r1/',
    });
    expect(sql).not.toContain('?');
    expect(sql).toContain(`"request_id" = 'r1'`);
    const min = `CAST(TIMESTAMP '2026-03-01 10:15:00.000000' AS TIMESTAMP(6))`;
    const max = `CAST(TIMESTAMP '2026-03-02 08:00:00.001000' AS TIMESTAMP(6))`;
    expect(sql).toContain(`"event_timestamp" BETWEEN ${min} AND ${max}`);
    expect(sql.split(`fstore_s."dt" <= CAST(CAST(${max} AS DATE) AS VARCHAR)`)).toHaveLength(4);
    expect(
      sql.split(`fstore_s."dt" >= CAST(CAST((${min} - INTERVAL '2592000' SECOND) AS DATE)`),
    ).toHaveLength(2);
  });

  it('refuses SQL whose "?" are not as many as its parameters, naming it and the order', () => {
    const { sql } = renderServiceRequest(registry, 'churn_online', 'fstore_dev');
    expect(() =>
      bindServiceRequestParameters(
        { sql, parameters: ['request_id', 'min', 'max'] },
        { requestId: 'r1', min: '2026-03-01T00:00:00Z', max: '2026-03-01T00:00:00Z' },
        dialect,
        'the statement of churn_online',
      ),
    ).toThrow(
      'the statement of churn_online has 9 "?" where 3 parameters (request_id, min, max) were expected',
    );
  });
});
