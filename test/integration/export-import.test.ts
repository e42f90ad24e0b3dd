import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportEnvironment } from '../../lib/backup/export-env.ts';
import { exportManifestName } from '../../lib/backup/export-manifest.ts';
import { importEnvironment } from '../../lib/backup/import-env.ts';
import { envDataDir } from '../../lib/data-paths.ts';
import { defineFeatureView } from '../../lib/definitions/index.ts';
import { localAuditKey, localAuditKeyPath } from '../../lib/erasure/local-audit-key.ts';
import { readAppliedRegistry, writeAppliedRegistry } from '../../lib/local/registry-store.ts';
import { getTrainingSet } from '../../lib/offline/training-set.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const latest = defineFeatureView({
  name: 'latest',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
  ttl: '30d',
});
const entityRows = [
  { customer_id: 'A', event_timestamp: '2026-03-05T12:00:00Z' },
  { customer_id: 'B', event_timestamp: '2026-03-20T12:00:00Z' },
];

let fixture: Awaited<ReturnType<typeof offlineFixture>>;
let entities: string;

beforeAll(async () => {
  fixture = await offlineFixture([latest]);
  await writeAppliedRegistry(fixture.dataDir, 'local', fixture.registry);
  await fixture.ingest('scores', [
    { customer_id: 'A', score: 1, event_ts: '2026-03-01T10:00:00Z' },
    { customer_id: 'B', score: 2, event_ts: '2026-03-02T10:00:00Z' },
  ]);
  await fixture.ingest('scores', [
    { customer_id: 'A', score: 3, event_ts: '2026-03-04T10:00:00Z' },
    { customer_id: 'B', score: 4, event_ts: '2026-03-19T10:00:00Z' },
  ]);
  await writeFile(
    path.join(envDataDir(fixture.dataDir, 'local'), 'online.watermarks.json'),
    '{"latest#v1":"2026-03-20T00:00:00.000Z"}\n',
  );
  entities = await fixture.writeJsonl(entityRows);
});

async function trainingSet(env: string) {
  const run = await getTrainingSet({
    registry: fixture.registry,
    dataDir: fixture.dataDir,
    env,
    request: { features: ['latest:score'] },
    entities,
  });
  return run.records;
}

async function exported(includeData: boolean) {
  const out = path.join(await makeTempDir('export'), 'backup');
  const result = await exportEnvironment({
    dataDir: fixture.dataDir,
    env: 'local',
    out,
    includeData,
    fstoreVersion: 'test',
  });
  return { out, result };
}

async function exists(file: string) {
  return (await stat(file).catch(() => undefined)) !== undefined;
}

describe('fstore export and import', () => {
  it('restores an environment that gives the same training set, the same registry and no watermarks', async () => {
    const { out, result } = await exported(true);
    expect(result).toMatchObject({ includesData: true });
    expect(result.dataFiles).toBeGreaterThanOrEqual(2);
    const imported = await importEnvironment({
      dataDir: fixture.dataDir,
      env: 'local-restored',
      from: out,
    });
    expect(imported.notRestored.map((s) => s.name)).toEqual(['online.watermarks.json']);
    expect(await trainingSet('local-restored')).toEqual(await trainingSet('local'));
    expect(await trainingSet('local-restored')).toEqual([
      { customer_id: 'A', event_timestamp: expect.anything(), score: 3 },
      { customer_id: 'B', event_timestamp: expect.anything(), score: 4 },
    ]);
    expect(await readAppliedRegistry(fixture.dataDir, 'local-restored')).toEqual(
      await readAppliedRegistry(fixture.dataDir, 'local'),
    );
    const restored = envDataDir(fixture.dataDir, 'local-restored');
    expect(await exists(path.join(restored, 'online.watermarks.json'))).toBe(false);
    expect(await exists(path.join(restored, 'lineage.json'))).toBe(true);
  });

  it('exports metadata only without --include-data, and an import of it restores the registry alone', async () => {
    const { out, result } = await exported(false);
    expect(result.dataFiles).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(out, exportManifestName), 'utf8'));
    const paths = manifest.files.map((f: { path: string }) => f.path);
    expect(paths).toContain('registry.json');
    expect(paths).toContain('offline/_ingests.jsonl');
    expect(paths.some((p: string) => p.endsWith('.parquet'))).toBe(false);
    const imported = await importEnvironment({
      dataDir: fixture.dataDir,
      env: 'local-metadata',
      from: out,
    });
    expect(imported.notRestored.map((s) => s.name).sort()).toEqual([
      'offline',
      'online.watermarks.json',
    ]);
    const restored = envDataDir(fixture.dataDir, 'local-metadata');
    expect(await readdir(restored)).not.toContain('offline');
    expect(await readAppliedRegistry(fixture.dataDir, 'local-metadata')).toEqual(fixture.registry);
  });

  it('refuses an output folder that is not empty, writing nothing', async () => {
    const out = await makeTempDir('export-full');
    await writeFile(path.join(out, 'keep.txt'), 'mine\n');
    await expect(
      exportEnvironment({
        dataDir: fixture.dataDir,
        env: 'local',
        out,
        includeData: true,
        fstoreVersion: 'test',
      }),
    ).rejects.toThrow(/is not empty \(keep\.txt\)/);
    expect(await readdir(out)).toEqual(['keep.txt']);
  });

  it('refuses an environment that does not exist', async () => {
    await expect(
      exportEnvironment({
        dataDir: fixture.dataDir,
        env: 'local-none',
        out: path.join(await makeTempDir('export'), 'x'),
        includeData: false,
        fstoreVersion: 'test',
      }),
    ).rejects.toThrow(/environment "local-none" has nothing to export/);
  });

  it('refuses to import into an environment that holds anything, changing nothing', async () => {
    const { out } = await exported(true);
    const target = envDataDir(fixture.dataDir, 'local-busy');
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, 'registry.json'), 'mine\n');
    await expect(
      importEnvironment({ dataDir: fixture.dataDir, env: 'local-busy', from: out }),
    ).rejects.toThrow(/environment "local-busy" is not empty: .* holds registry\.json/);
    expect(await readdir(target)).toEqual(['registry.json']);
  });

  it('refuses a damaged export, naming the file, and creates no environment', async () => {
    const { out } = await exported(true);
    const manifest = JSON.parse(await readFile(path.join(out, exportManifestName), 'utf8'));
    const parquet = manifest.files.find((f: { path: string }) => f.path.endsWith('.parquet'));
    const file = path.join(out, parquet.path);
    const bytes = await readFile(file);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    await expect(
      importEnvironment({ dataDir: fixture.dataDir, env: 'local-damaged', from: out }),
    ).rejects.toThrow(`${parquet.path} of the export in ${out} is damaged: its sha256 differs`);
    expect(await exists(envDataDir(fixture.dataDir, 'local-damaged'))).toBe(false);
  });

  it('refuses a manifest that lists a path outside what an export holds', async () => {
    const { out } = await exported(false);
    const file = path.join(out, exportManifestName);
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    for (const hostile of ['../outside.json', 'offline/../../x', '/etc/passwd', 'node_modules/x']) {
      manifest.files[0].path = hostile;
      await writeFile(file, JSON.stringify(manifest));
      await expect(
        importEnvironment({ dataDir: fixture.dataDir, env: 'local-hostile', from: out }),
      ).rejects.toThrow(`lists "${hostile}", which is not a path an export holds`);
    }
    expect(await exists(envDataDir(fixture.dataDir, 'local-hostile'))).toBe(false);
  });

  it('refuses a local manifest listing what only an AWS export holds (offline-bucket/)', async () => {
    const { out } = await exported(false);
    const file = path.join(out, exportManifestName);
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    manifest.files[0].path = 'offline-bucket/offline/_ingests/scores/x.json';
    await writeFile(file, JSON.stringify(manifest));
    await expect(
      importEnvironment({ dataDir: fixture.dataDir, env: 'local-aws-path', from: out }),
    ).rejects.toThrow('which an export of a local environment does not hold');
    expect(await exists(envDataDir(fixture.dataDir, 'local-aws-path'))).toBe(false);
  });

  it('refuses an ingest manifest naming files outside the export or the store, or replaced files', async () => {
    const { out } = await exported(true);
    const manifestFile = path.join(out, exportManifestName);
    const ingests = path.join(out, 'offline', '_ingests.jsonl');
    const original = await readFile(ingests, 'utf8');
    const [first] = original
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const edits: [string, (record: Record<string, unknown>) => unknown, string][] = [
      [
        'a .. path',
        (r) => ({ ...r, files: ['scores/../../../../victim/dt=2026-03-01/precious.parquet'] }),
        'not a data file of source scores',
      ],
      ['a source with ..', (r) => ({ ...r, source: '../victim' }), 'not a source name'],
      [
        'a file the export does not hold',
        (r) => ({ ...r, files: ['scores/dt=2026-03-09/20260301t000000-00000000-0.parquet'] }),
        'a file the export does not hold',
      ],
      [
        'replaced files',
        (r) => [
          r,
          { kind: 'replaced-files', replacedBy: 'x', at: 'x', keepUntil: 'x', files: ['../x'] },
        ],
        'lists replaced files',
      ],
    ];
    for (const [what, edit, message] of edits) {
      const lines = [edit(first)].flat().map((r) => JSON.stringify(r));
      const text = `${lines.join('\n')}\n`;
      await writeFile(ingests, text);
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
      const listed = manifest.files.find(
        (f: { path: string }) => f.path === 'offline/_ingests.jsonl',
      );
      listed.bytes = Buffer.byteLength(text);
      listed.sha256 = createHash('sha256').update(text).digest('hex');
      await writeFile(manifestFile, JSON.stringify(manifest));
      await expect(
        importEnvironment({ dataDir: fixture.dataDir, env: 'local-escape', from: out }),
        what,
      ).rejects.toThrow(message);
    }
    expect(await exists(envDataDir(fixture.dataDir, 'local-escape'))).toBe(false);
  });

  it('carries the push logs not ingested yet with the data', async () => {
    const log = path.join(envDataDir(fixture.dataDir, 'local'), 'offline', '_push', 'scores');
    await mkdir(log, { recursive: true });
    const line = '{"customer_id":"C","score":7,"event_ts":"2026-03-21T00:00:00Z"}\n';
    await writeFile(path.join(log, '20260321t000000-push1.jsonl'), line);
    await writeFile(path.join(log, '20260321t000001-push2.jsonl.tmp'), 'half');
    try {
      const { out } = await exported(true);
      await importEnvironment({ dataDir: fixture.dataDir, env: 'local-pushed', from: out });
      const restored = path.join(
        envDataDir(fixture.dataDir, 'local-pushed'),
        'offline',
        '_push',
        'scores',
      );
      expect(await readdir(restored)).toEqual(['20260321t000000-push1.jsonl']);
      expect(await readFile(path.join(restored, '20260321t000000-push1.jsonl'), 'utf8')).toBe(line);
    } finally {
      const { rm } = await import('node:fs/promises');
      await rm(path.join(envDataDir(fixture.dataDir, 'local'), 'offline', '_push'), {
        recursive: true,
      });
    }
  });

  it('refuses a link where the export has a file, and a folder without a manifest', async () => {
    const { out } = await exported(false);
    const registry = path.join(out, 'registry.json');
    const { rm } = await import('node:fs/promises');
    await rm(registry);
    await symlink(path.join(envDataDir(fixture.dataDir, 'local'), 'registry.json'), registry);
    await expect(
      importEnvironment({ dataDir: fixture.dataDir, env: 'local-link', from: out }),
    ).rejects.toThrow('registry.json of the export in');
    const empty = await makeTempDir('not-export');
    await expect(
      importEnvironment({ dataDir: fixture.dataDir, env: 'local-link', from: empty }),
    ).rejects.toThrow(`${empty} is not an fstore export: it has no ${exportManifestName}`);
    expect(await exists(envDataDir(fixture.dataDir, 'local-link'))).toBe(false);
  });

  it('removes what a killed export or import left before writing again', async () => {
    const parent = await makeTempDir('export-left');
    const out = path.join(parent, 'backup');
    await mkdir(`${out}.partial-0123abcd`);
    await writeFile(`${out}.partial-0123abcd/registry.json`, 'half\n');
    await exportEnvironment({
      dataDir: fixture.dataDir,
      env: 'local',
      out,
      includeData: false,
      fstoreVersion: 'test',
    });
    expect((await readdir(parent)).sort()).toEqual(['backup']);
    const leftover = `${envDataDir(fixture.dataDir, 'local-again')}.importing-89abcdef`;
    await mkdir(leftover, { recursive: true });
    await importEnvironment({ dataDir: fixture.dataDir, env: 'local-again', from: out });
    expect(await exists(leftover)).toBe(false);
    expect(await exists(envDataDir(fixture.dataDir, 'local-again'))).toBe(true);
  });

  // Last: it gives the fixture's environment an audit key, which the exports above do not hold.
  it('carries the audit key, owner-only, so a delete after the import hashes keys as before', async () => {
    const key = await localAuditKey(fixture.dataDir, 'local');
    const { out } = await exported(false);
    await importEnvironment({ dataDir: fixture.dataDir, env: 'local-keyed', from: out });
    const restored = localAuditKeyPath(fixture.dataDir, 'local-keyed');
    expect((await stat(restored)).mode & 0o777).toBe(0o600);
    expect(await localAuditKey(fixture.dataDir, 'local-keyed')).toEqual(key);
  });
});
