import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { offlineFixture } from './offline-fixture.ts';

/** Fixture of the on-demand training-set tests: an on-demand view that echoes its request values, one of each type. */
export const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
export const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { monthly: 'float64', plan: 'string' },
  ttl: '30d',
});
export const echo = defineOnDemandView({
  name: 'echo',
  request: { amount: 'float64', coupon: 'string', flag: 'bool', qty: 'int64' },
  inputs: [profile.select(['monthly'])],
  features: {
    amount_out: 'float64',
    coupon_out: 'string',
    flag_out: 'bool',
    qty_out: 'int64',
    monthly_out: 'float64',
  },
  transform: (row) => {
    if (row.amount === 13) throw new Error('unlucky amount');
    return {
      amount_out: row.amount,
      coupon_out: row.coupon,
      flag_out: row.flag,
      qty_out: row.qty,
      monthly_out: row.monthly,
    };
  },
});
export const checkout = defineFeatureService({
  name: 'checkout',
  features: [profile.select(['plan']), echo],
});
export const definitions = [customer, profiles, profile, echo, checkout];

export const at = '2026-03-10T00:00:00.000Z';
export const profileRows = [
  { customer_id: 'C1', monthly: 50, plan: 'basic', event_ts: '2026-03-01T00:00:00Z' },
  { customer_id: 'C2', monthly: 0.1, plan: 'gold', event_ts: '2026-03-02T00:00:00Z' },
];

export async function echoFixture() {
  const fixture = await offlineFixture(definitions);
  await fixture.ingest('profiles', profileRows);
  return fixture;
}

/** Writes `select` (a DuckDB query) to a Parquet file in `dir`, keeping its column types. */
export async function writeParquet(dir: string, name: string, select: string): Promise<string> {
  const file = path.join(dir, name);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return file;
}
