import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsAuditKeyFile, exportAwsEnvironment } from '../../lib/backup/aws-export.ts';
import { importAwsEnvironment } from '../../lib/backup/aws-import.ts';
import {
  ExportError,
  exportManifestName,
  verifiedExport,
} from '../../lib/backup/export-manifest.ts';
import { importEnvironment } from '../../lib/backup/import-env.ts';
import { serializeRegistry } from '../../lib/registry/compile.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const registry = pushRegistry();
const source = registry.sources[0]?.name ?? '';
const prefix = registry.sources[0]?.offline.s3Prefix ?? '';
const object = (dt: string, id: string) => `${prefix}dt=${dt}/${id}-0.parquet`;
const ingested = object('2026-01-01', '20260101t000000-aaaaaaaa');
const replaced = object('2026-01-02', '20260102t000000-bbbbbbbb');
const merged = object('2026-01-02', '20260103t000000-cccccccc');
const uncommitted = object('2026-01-04', '20260104t000000-dddddddd');
const legacy = object('2026-01-05', '20260105t000000-eeeeeeee');
const records = {
  a: `offline/_ingests/${source}/${'a'.repeat(64)}/20260101t000000-aaaaaaaa.json`,
  b: `offline/_ingests/${source}/${'b'.repeat(64)}/20260102t000000-bbbbbbbb.json`,
  // Written before the commit rule: names no files, its ingest id stands for them.
  e: `offline/_ingests/${source}/${'e'.repeat(64)}.json`,
  compaction: `offline/_ingests/${source}/compactions/20260103t000000-cccccccc.json`,
};
const lock = `offline/_ingests/${source}/compactions/_lock.json`;
const line = (value: unknown) => Buffer.from(`${JSON.stringify(value)}\n`);

/** One AWS environment: its offline and artifacts buckets on loopback S3. */
interface Environment {
  offline: MemoryBucket;
  artifacts: MemoryBucket;
}

async function environment(name: string, pageSize: number): Promise<Environment> {
  return {
    offline: await startMemoryBucket(`${name}-offline`, { pageSize }),
    artifacts: await startMemoryBucket(`${name}-artifacts`, { pageSize }),
  };
}

const buckets = (env: Environment) => ({
  offline: { s3: memoryBucketClient(env.offline), bucket: env.offline.name },
  artifacts: { s3: memoryBucketClient(env.artifacts), bucket: env.artifacts.name },
});

function deploy(env: Environment, version = registry.version): void {
  const text = Buffer.from(serializeRegistry({ ...registry, version }));
  env.artifacts.objects.set('registry/deployed.json', text);
  env.artifacts.objects.set(`registry/history/${version}.json`, text);
}

function fill(env: Environment): void {
  deploy(env);
  env.artifacts.objects.set('registry/history/older.json', Buffer.from('{"old":true}'));
  const o = env.offline.objects;
  for (const key of [ingested, replaced, merged, uncommitted, legacy])
    o.set(key, Buffer.from(`parquet bytes of ${key}`));
  o.set(
    records.a,
    line({ ingestId: '20260101t000000-aaaaaaaa', firstSeq: 1, rows: 2, files: [ingested] }),
  );
  o.set(
    records.b,
    line({ ingestId: '20260102t000000-bbbbbbbb', firstSeq: 3, rows: 2, files: [replaced] }),
  );
  o.set(records.e, line({ ingestId: '20260105t000000-eeeeeeee', firstSeq: 5, rows: 1 }));
  o.set(
    records.compaction,
    line({
      kind: 'compaction',
      ingestId: '20260103t000000-cccccccc',
      source,
      at: '2026-01-03T00:00:00Z',
      keepUntil: '2026-01-03T01:00:00Z',
      files: [merged],
      replaces: [replaced],
    }),
  );
  o.set(lock, Buffer.from('{"owner":"x"}'));
  o.set('_fstore/snapshots/v1_baseline.json', Buffer.from('{"name":"v1_baseline"}'));
  o.set(
    '_fstore/audit/deletes/20260110T000000000Z-12345678.json',
    Buffer.from('{"keyHash":"hmac-sha256"}'),
  );
  o.set(`quarantine/${source}/2026-01-01.jsonl`, Buffer.from('{"row":1}\n'));
}

const auditSecret = 'S'.repeat(64);
let from: Environment;
let to: Environment;
let work: string;

beforeAll(async () => {
  from = await environment('from', 2);
  to = await environment('to', 2);
});
afterAll(async () => {
  for (const env of [from, to]) {
    await env.offline.close();
    await env.artifacts.close();
  }
});
beforeEach(async () => {
  work = await makeTempDir('aws-export');
  for (const env of [from, to]) {
    env.offline.objects.clear();
    env.artifacts.objects.clear();
    env.offline.requests.length = 0;
    env.offline.beforeRequest = undefined;
  }
  fill(from);
  deploy(to);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const exportFrom = (out: string, includeData: boolean) =>
  exportAwsEnvironment({
    ...buckets(from),
    env: 'dev',
    auditSecret,
    out,
    includeData,
    fstoreVersion: 'test',
  });

function secretStore(initial: string) {
  const store = { value: initial, writes: 0 };
  return {
    store,
    auditSecret: {
      current: async () => store.value,
      replace: async (value: string) => {
        store.value = value;
        store.writes++;
      },
    },
  };
}

describe('fstore export of an AWS environment', () => {
  it('holds the registry and its history, every commit record, snapshots, audit and key, and only the data objects the records name', async () => {
    const out = path.join(work, 'backup');
    const result = await exportFrom(out, true);
    const manifest = await verifiedExport(out);
    expect(manifest.origin).toBe('aws');
    expect(manifest.includesData).toBe(true);
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual(
      [
        'registry.json',
        'lineage.json',
        `registry-history/${registry.version}.json`,
        'registry-history/older.json',
        awsAuditKeyFile,
        ...[ingested, merged, legacy, ...Object.values(records)].map((k) => `offline-bucket/${k}`),
        'offline-bucket/_fstore/snapshots/v1_baseline.json',
        'offline-bucket/_fstore/audit/deletes/20260110T000000000Z-12345678.json',
        `offline-bucket/quarantine/${source}/2026-01-01.jsonl`,
      ].sort(),
    );
    // Not a replaced object, an uncommitted one, nor the compaction lock.
    expect(
      paths.some((p) => p.endsWith(replaced) || p.endsWith(uncommitted) || p.endsWith(lock)),
    ).toBe(false);
    expect(result.dataFiles).toBe(3);
    expect(await readFile(path.join(out, 'offline-bucket', ...ingested.split('/')), 'utf8')).toBe(
      `parquet bytes of ${ingested}`,
    );
    expect((await stat(path.join(out, ...awsAuditKeyFile.split('/')))).mode & 0o777).toBe(0o600);
    // Pages of 2 objects: the 4 records and the lock took three pages.
    expect(from.offline.listed.filter((p) => p === 'offline/_ingests/').length).toBe(3);
  });

  it('goes on through a throttled listing (the SDK retries SlowDown), and leaves no folder when the throttling lasts', async () => {
    let throttled = 0;
    from.offline.beforeRequest = (method, key) => {
      if (method === 'GET' && key === '' && throttled++ < 1)
        return { status: 503, code: 'SlowDown' };
      return undefined;
    };
    await exportFrom(path.join(work, 'once'), false);
    expect(throttled).toBeGreaterThan(1);

    from.offline.beforeRequest = (method, key) =>
      method === 'GET' && key === '' ? { status: 503, code: 'SlowDown' } : undefined;
    const out = path.join(work, 'always');
    const error = await exportFrom(out, false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).hint).toContain('throttling');
    await expect(stat(out)).rejects.toThrow();
  }, 60_000);

  it('is refused by a local import (its files keep the S3 layout)', async () => {
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    await expect(
      importEnvironment({ dataDir: path.join(work, 'data'), env: 'local-restored', from: out }),
    ).rejects.toThrow('is an export of the AWS environment "dev"');
  });
});

describe('fstore import into an AWS environment', () => {
  it('restores every exported object, the history and the audit key, with the commit records written last', async () => {
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    const { store, auditSecret: secret } = secretStore('T'.repeat(64));
    const result = await importAwsEnvironment({
      ...buckets(to),
      env: 'staging',
      from: out,
      auditSecret: secret,
    });
    expect(result).toEqual(
      expect.objectContaining({
        commitRecords: 4,
        // The history of the deployed version: the target's own record of it, kept.
        alreadyThere: 1,
        auditKey: 'replaced',
        notRestored: [],
      }),
    );
    expect(store.value).toBe(auditSecret);
    const expected = [...from.offline.objects.keys()].filter(
      (k) => ![replaced, uncommitted, lock].includes(k),
    );
    expect([...to.offline.objects.keys()].sort()).toEqual(expected.sort());
    for (const key of expected)
      expect(to.offline.objects.get(key)).toEqual(from.offline.objects.get(key));
    expect(to.artifacts.objects.get('registry/history/older.json')?.toString()).toBe(
      '{"old":true}',
    );
    const puts = to.offline.requests.filter((r) => r.startsWith('PUT '));
    const firstRecord = puts.findIndex((r) => r.startsWith('PUT offline/_ingests/'));
    expect(firstRecord).toBe(puts.length - 4);
  });

  it('resumes after an upload failed mid-way: nothing committed before, the rerun skips what is there', async () => {
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    let puts = 0;
    to.offline.beforeRequest = (method) =>
      method === 'PUT' && ++puts === 3 ? { status: 403, code: 'AccessDenied' } : undefined;
    const error = await importAwsEnvironment({ ...buckets(to), env: 'staging', from: out }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExportError);
    expect((error as Error).message).toContain('AccessDenied');
    expect([...to.offline.objects.keys()].filter((k) => k.startsWith('offline/_ingests/'))).toEqual(
      [],
    );

    to.offline.beforeRequest = undefined;
    const rerun = await importAwsEnvironment({ ...buckets(to), env: 'staging', from: out });
    expect(rerun.alreadyThere).toBeGreaterThan(0);
    expect(rerun.uploaded + rerun.alreadyThere).toBe(12);
    expect(to.offline.objects.get(records.a)).toEqual(from.offline.objects.get(records.a));
    // A third run after the commit: the records are the export's own, so it resumes, uploading nothing.
    const third = await importAwsEnvironment({ ...buckets(to), env: 'staging', from: out });
    expect(third.uploaded).toBe(0);
  });

  it('refuses, changing nothing, a target with committed data of its own, another registry, or none deployed', async () => {
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    const attempt = () => importAwsEnvironment({ ...buckets(to), env: 'staging', from: out });

    to.offline.objects.set(
      `offline/_ingests/${source}/${'f'.repeat(64)}/x.json`,
      Buffer.from('{}'),
    );
    await expect(attempt()).rejects.toThrow('environment "staging" is not empty');
    to.offline.objects.clear();

    deploy(to, 'another-version');
    const other = (await attempt().catch((e: unknown) => e)) as ExportError;
    expect(other.message).toContain(
      `runs registry another-version, the export was taken at ${registry.version}`,
    );
    expect(other.hint).toContain('deploy the feature-defs of the export first');

    to.artifacts.objects.clear();
    await expect(attempt()).rejects.toThrow('has no deployed registry');
    expect(to.offline.requests.filter((r) => r.startsWith('PUT '))).toEqual([]);
  });

  it('refuses a damaged export and a local one before writing anything', async () => {
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    await writeFile(path.join(out, 'offline-bucket', ...ingested.split('/')), 'changed');
    await expect(
      importAwsEnvironment({ ...buckets(to), env: 'staging', from: out }),
    ).rejects.toThrow('is damaged');
    const manifestFile = path.join(out, exportManifestName);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    await writeFile(
      manifestFile,
      JSON.stringify({
        ...manifest,
        origin: 'local',
        files: manifest.files.filter((f: { path: string }) => f.path === 'registry.json'),
      }),
    );
    await expect(
      importAwsEnvironment({ ...buckets(to), env: 'staging', from: out }),
    ).rejects.toThrow('is an export of the local environment "dev"');
    expect(to.offline.requests.filter((r) => r.startsWith('PUT '))).toEqual([]);
  });

  it('restores records naming objects retention deleted before the export, counting them', async () => {
    from.offline.objects.delete(ingested);
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    const result = await importAwsEnvironment({ ...buckets(to), env: 'staging', from: out });
    expect(result.namedButAbsent).toBe(1);
    expect(to.offline.objects.has(records.a)).toBe(true);
    expect(to.offline.objects.has(ingested)).toBe(false);
  });

  it('refuses an export holding an object outside every prefix fstore writes, before writing', async () => {
    const out = path.join(work, 'backup');
    await exportFrom(out, true);
    const stray = 'offline-bucket/athena-results/planted.csv';
    await mkdir(path.join(out, 'offline-bucket', 'athena-results'), { recursive: true });
    await writeFile(path.join(out, ...stray.split('/')), 'x');
    const manifestFile = path.join(out, exportManifestName);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.files.push({
      path: stray,
      bytes: 1,
      sha256: createHash('sha256').update('x').digest('hex'),
    });
    await writeFile(manifestFile, JSON.stringify(manifest));
    await expect(
      importAwsEnvironment({ ...buckets(to), env: 'staging', from: out }),
    ).rejects.toThrow(`holds ${stray}, outside every prefix fstore writes`);
    expect(to.offline.requests.filter((r) => r.startsWith('PUT '))).toEqual([]);
  });

  it('from an export without data, restores the audit and history only, and says what it left', async () => {
    const out = path.join(work, 'meta');
    await exportFrom(out, false);
    const result = await importAwsEnvironment({ ...buckets(to), env: 'staging', from: out });
    expect([...to.offline.objects.keys()]).toEqual([
      '_fstore/audit/deletes/20260110T000000000Z-12345678.json',
    ]);
    expect(result.notRestored.map((n) => n.name).sort()).toEqual(['_fstore', 'offline']);
    expect(result.auditKey).toBe('not restored');
  });
});
