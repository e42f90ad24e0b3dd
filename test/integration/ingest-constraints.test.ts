import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', age: 'int32', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: {
    age: { type: 'int32', min: 18, max: 120 },
    plan: { type: 'string', allowedValues: ['basic', 'pro'], nullable: false },
  },
});
const row = (id: string, age: number | null, plan: string | null) => ({
  customer_id: id,
  age,
  plan,
  event_ts: '2026-03-01T00:00:00Z',
});

async function ingest(rows: Record<string, unknown>[], allowConstraintViolations = false) {
  const fixture = await offlineFixture([customer, profiles, profile]);
  const file = await fixture.writeJsonl(rows);
  const run = () =>
    ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      source: 'profiles',
      file,
      ...(allowConstraintViolations ? { allowConstraintViolations } : {}),
    });
  const stored = async () =>
    readdir(path.join(offlineRoot(fixture.dataDir, 'local'), 'profiles')).catch(
      () => [] as string[],
    );
  return { run, stored };
}

describe('feature constraints at ingest', () => {
  it('accepts rows that keep every constraint of the views reading the source', async () => {
    const { run } = await ingest([
      row('C1', 18, 'basic'),
      row('C2', 120, 'pro'),
      row('C3', null, 'pro'),
    ]);
    expect((await run()).rows).toBe(3);
  });

  it('refuses a file that breaks constraints, naming each rule, its count and the input rows, and writes nothing', async () => {
    const { run, stored } = await ingest([
      row('C1', 30, 'basic'),
      row('C2', 17, 'basic'),
      row('C3', 121, 'gold'),
      row('C4', 40, null),
      row('C5', 5, 'pro'),
    ]);
    const error = await run().catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      [
        'input-0.jsonl breaks feature constraints; nothing was written:',
        '  profile.age min 18: 2 row(s), e.g. row 2, 5',
        '  profile.age max 120: 1 row(s), e.g. row 3',
        '  profile.plan not null: 1 row(s), e.g. row 4',
        '  profile.plan allowed values: 1 row(s), e.g. row 3',
      ].join('\n'),
    );
    expect(await stored()).toEqual([]);
  });

  it('keeps such rows when asked, for materialization to quarantine', async () => {
    const { run } = await ingest([row('C1', 17, 'basic')], true);
    expect((await run()).rows).toBe(1);
  });
});

describe('view quality rules at ingest', () => {
  const strict = defineFeatureView({
    name: 'strict_profile',
    entities: [customer],
    source: profiles,
    features: { age: 'int32' },
    quality: { maxNullPercent: 25, minRows: 3 },
  });

  async function run(rows: Record<string, unknown>[]) {
    const fixture = await offlineFixture([customer, profiles, strict]);
    return ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      source: 'profiles',
      file: await fixture.writeJsonl(rows),
    });
  }

  it('accepts a file with enough rows and few enough NULLs', async () => {
    expect(
      (
        await run([
          row('C1', 30, 'a'),
          row('C2', 31, 'b'),
          row('C3', 32, 'c'),
          row('C4', null, 'd'),
        ])
      ).rows,
    ).toBe(4);
  });

  it('refuses a file with too many NULLs in a feature or too few rows, with the figures', async () => {
    await expect(run([row('C1', 30, 'a'), row('C2', null, 'b')])).rejects.toThrow(
      [
        'breaks feature constraints; nothing was written:',
        '  strict_profile.age max null 25%: 50.00% null (1 of 2 rows)',
        '  strict_profile min rows 3: the file has 2',
      ].join('\n'),
    );
  });
});
