import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `import { defineEntity, defineFeatureService, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const scores = defineSource({ name: 'scores', schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
const visits = defineSource({ name: 'visits', schema: { customer_id: 'string', pages: 'int64', event_ts: 'timestamp' }, timestampField: 'event_ts' });
export const latestScore = defineFeatureView({ name: 'latest_score', entities: [customer], source: scores, features: { score: 'int64' }, ttl: '30d' });
export const lastVisit = defineFeatureView({ name: 'last_visit', entities: [customer], source: visits, features: { pages: 'int64' }, ttl: '30d' });
export const scoring = defineFeatureService({ name: 'scoring', features: [latestScore] });
`;

let dir: string;
let fstore: (...args: string[]) => ReturnType<typeof runFstore>;
let entities: string;

async function ingest(name: string, rows: readonly Record<string, unknown>[]) {
  const file = path.join(dir, `${name}.jsonl`);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const done = await fstore('ingest', '--source', 'scores', '--file', file);
  expect(done.code, done.stderr).toBe(0);
}

beforeAll(async () => {
  const defsDir = await writeDefs({ 'defs.ts': defs });
  dir = await makeTempDir('snapshot-cli');
  fstore = (...args: string[]) => runFstore(['--defs', defsDir, '--data-dir', dir, ...args]);
  entities = path.join(dir, 'entities.csv');
  await writeFile(entities, 'customer_id,event_timestamp\nA,2026-03-10T00:00:00Z\n');
}, 60_000);

describe('fstore snapshot', () => {
  it('refuses to snapshot an environment with nothing ingested', async () => {
    const empty = await fstore('snapshot', 'create', '--name', 'too_early');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no (ingested data to snapshot|offline store)|does not exist/);
  });

  it('creates, lists, shows and deletes snapshots; training-set --snapshot reads as of one after a later ingest', async () => {
    await ingest('first', [{ customer_id: 'A', score: 1, event_ts: '2026-03-01T12:00:00Z' }]);
    const made = await fstore(
      'snapshot',
      'create',
      '--name',
      'v1_baseline',
      '--service',
      'scoring',
      '--description',
      'before the March backfill',
      '--json',
    );
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({
      name: 'v1_baseline',
      service: 'scoring',
      description: 'before the March backfill',
      sources: { scores: { maxSeq: 1 } },
    });
    const all = await fstore('snapshot', 'create', '--name', 'everything');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('pins 2 sources');

    await ingest('later', [{ customer_id: 'A', score: 9, event_ts: '2026-03-08T12:00:00Z' }]);
    const out = path.join(dir, 'as-of-v1.csv');
    const pinned = await fstore(
      'training-set',
      '--service',
      'scoring',
      '--entities',
      entities,
      '--snapshot',
      'v1_baseline',
      '--out',
      out,
    );
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toContain('A,2026-03-10T00:00:00.000000Z,1\n');
    const manifest = JSON.parse(await readFile(path.join(dir, 'as-of-v1.manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ snapshot: 'v1_baseline', sources: { scores: { maxSeq: 1 } } });
    const replay = await fstore(
      'training-set',
      '--replay',
      path.join(dir, 'as-of-v1.manifest.json'),
    );
    expect(replay.code, replay.stderr).toBe(0);

    const list = await fstore('snapshot', 'list', '--json');
    expect(JSON.parse(list.stdout).snapshots.map((s: { name: string }) => s.name)).toEqual([
      'v1_baseline',
      'everything',
    ]);
    const show = await fstore('snapshot', 'show', '--name', 'v1_baseline');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('before the March backfill');
    expect(show.stdout).toMatch(/│ scores │ 1 +│ 1 +│/);

    const deleted = await fstore('snapshot', 'delete', '--name', 'everything');
    expect(deleted.code, deleted.stderr).toBe(0);
    const after = await fstore('snapshot', 'list', '--json');
    expect(JSON.parse(after.stdout).snapshots.map((s: { name: string }) => s.name)).toEqual([
      'v1_baseline',
    ]);
  }, 120_000);

  it('refuses a taken name, a bad name, an unknown snapshot or service, and a snapshot without the requested source', async () => {
    const taken = await fstore('snapshot', 'create', '--name', 'v1_baseline');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('already has a snapshot "v1_baseline"');
    for (const bad of ['V1', '1st', 'with-dash', 'a'.repeat(64), '../x']) {
      const refused = await fstore('snapshot', 'create', '--name', bad);
      expect(refused.code, bad).toBe(1);
      expect(refused.stderr).toContain(`snapshot name "${bad}" is not valid`);
    }
    const unknownService = await fstore('snapshot', 'create', '--name', 'x', '--service', 'nope');
    expect(unknownService.code).toBe(2);
    expect(unknownService.stderr).toContain('--service nope is not a feature service');
    const unknown = await fstore('snapshot', 'show', '--name', 'missing');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no snapshot "missing"');
    expect(unknown.stderr).toContain('its snapshots: v1_baseline');
    expect((await fstore('snapshot', 'delete', '--name', 'missing')).code).toBe(1);
    const otherSource = await fstore(
      'training-set',
      '--features',
      'last_visit:pages',
      '--entities',
      entities,
      '--snapshot',
      'v1_baseline',
      '--out',
      path.join(dir, 'visits.csv'),
    );
    expect(otherSource.code).toBe(1);
    expect(otherSource.stderr).toContain('no pin for source "visits"');
    const aws = await fstore('--env', 'dev', 'snapshot', 'list');
    expect(aws.code).toBe(2);
    expect(aws.stderr).toContain('snapshots of "dev" are stored in its offline bucket');
    const awsRead = await fstore(
      '--env',
      'dev',
      'training-set',
      '--service',
      'scoring',
      '--entities',
      entities,
      '--snapshot',
      'v1_baseline',
      '--out',
      path.join(dir, 'aws.parquet'),
    );
    expect(awsRead.code).toBe(2);
    expect(awsRead.stderr).toContain('training sets on "dev" need its offline bucket');
    const snapshots = JSON.parse(
      await readFile(path.join(dir, 'local', 'offline', '_snapshots.json'), 'utf8'),
    );
    expect(snapshots.snapshots).toHaveLength(1);
  }, 120_000);
});
