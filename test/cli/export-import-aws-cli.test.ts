import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeRegistry } from '../../lib/registry/compile.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { type MemoryBucket, startMemoryBucket } from '../helpers/s3-memory-bucket.ts';

const registry = pushRegistry();
const source = registry.sources[0]?.name ?? '';
const prefix = registry.sources[0]?.offline.s3Prefix ?? '';
const data = `${prefix}dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet`;
const record = `offline/_ingests/${source}/${'c'.repeat(64)}/20260301t000000-aaaaaaaa.json`;

// One loopback bucket per environment holds both its offline and its artifacts objects.
let from: MemoryBucket;
let to: MemoryBucket;
let work: string;

const run = (bucket: MemoryBucket, env: string, args: string[]) =>
  runFstore(['--data-dir', path.join(work, 'data'), '--env', env, ...args], {
    env: {
      ...bucket.env,
      FSTORE_OFFLINE_BUCKET: bucket.name,
      FSTORE_ARTIFACTS_BUCKET: bucket.name,
    },
  });

beforeAll(async () => {
  work = await makeTempDir('export-aws-cli');
  from = await startMemoryBucket('fstore-dev', { pageSize: 2 });
  to = await startMemoryBucket('fstore-staging', { pageSize: 2 });
  const text = Buffer.from(serializeRegistry(registry));
  for (const bucket of [from, to]) bucket.objects.set('registry/deployed.json', text);
  from.objects.set(`registry/history/${registry.version}.json`, text);
  from.objects.set(data, Buffer.from('parquet bytes'));
  from.objects.set(
    record,
    Buffer.from(
      `${JSON.stringify({ ingestId: '20260301t000000-aaaaaaaa', source, rows: 1, firstSeq: 1, files: [data] })}\n`,
    ),
  );
}, 60_000);
afterAll(async () => {
  await from.close();
  await to.close();
});

describe('fstore export / import --env <aws> (loopback S3)', () => {
  it('exports an AWS environment and imports it into another; a second import uploads nothing', async () => {
    const out = path.join(work, 'backup');
    const exported = await run(from, 'dev', ['export', '--out', out, '--include-data']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('1 data file');
    expect(exported.stdout).toContain('the audit key is not in the export');
    const manifest = JSON.parse(await readFile(path.join(out, 'fstore-export.json'), 'utf8'));
    expect(manifest.origin).toBe('aws');

    const imported = await run(to, 'staging', ['import', out, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ commitRecords: 1, exportedFrom: 'dev' });
    expect(to.objects.get(record)).toEqual(from.objects.get(record));
    expect(to.objects.get(data)?.toString()).toBe('parquet bytes');

    const again = await run(to, 'staging', ['import', out, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ uploaded: 0 });
  }, 120_000);

  it('refuses an import into an environment running another registry, with a hint, exit non-zero', async () => {
    const out = path.join(work, 'backup-2');
    expect((await run(from, 'dev', ['export', '--out', out])).code).toBe(0);
    to.objects.set(
      'registry/deployed.json',
      Buffer.from(serializeRegistry({ ...registry, version: 'other' })),
    );
    const refused = await run(to, 'staging', ['import', out]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('runs registry other');
    expect(refused.stderr).toContain('deploy the feature-defs of the export first');
  }, 120_000);
});
