import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, writeDefs } from '../../helpers/run-fstore.ts';

// The service selects only an on-demand view; its input (profile.monthly) is read from the
// profiles source, which the real training set opens under a hidden column.
const defs = `
import { defineEntity, defineFeatureService, defineFeatureView, defineOnDemandView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const profile = defineFeatureView({
  name: 'profile', entities: [customer], source: profiles, features: { monthly: 'float64' }, ttl: '30d',
});
export const ratio = defineOnDemandView({
  name: 'ratio',
  request: { basket: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { share: 'float64' },
  transform: (row) => ({ share: row.monthly ? row.basket / row.monthly : null }),
});
export const checkout = defineFeatureService({ name: 'checkout', features: [ratio] });
`;

describe('fstore training-set --dry-run locally for a service with on-demand features', () => {
  it('lists the source the transform inputs are read from, as the training set opens it', async () => {
    const work = await makeTempDir('rev-dry-run');
    const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('rev-dry-run-defs'));
    const args = ['--defs', defsDir, '--data-dir', path.join(work, '.fstore')];
    const rows = path.join(work, 'profiles.csv');
    await writeFile(rows, 'customer_id,monthly,event_ts\nC1,50,2026-03-01T00:00:00Z\n');
    const ingest = await runFstore([...args, 'ingest', '--source', 'profiles', '--file', rows]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const entities = path.join(work, 'entities.csv');
    await writeFile(entities, 'customer_id,event_timestamp,basket\nC1,2026-03-10T00:00:00Z,5\n');
    const request = [...args, 'training-set', '--service', 'checkout', '--entities', entities];
    const real = await runFstore([...request, '--out', path.join(work, 'out.csv'), '--json']);
    expect(real.code, real.stderr).toBe(0);
    const dry = await runFstore([...request, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const sources = JSON.parse(dry.stdout).sources.map((s: { source: string }) => s.source);
    expect(sources).toEqual(['profiles']);
  }, 300_000);
});
