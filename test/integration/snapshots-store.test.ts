import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineFeatureView } from '../../lib/definitions/index.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  createSnapshot,
  deleteSnapshot,
  listSnapshots,
  snapshotPins,
  snapshotsPath,
} from '../../lib/offline/snapshots.ts';
import { customer, scores } from '../helpers/customer-scores.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const latestScore = defineFeatureView({
  name: 'latest_score',
  entities: [customer],
  source: scores,
  features: { score: 'int64' },
});

async function store() {
  const fixture = await offlineFixture([latestScore]);
  await fixture.ingest('scores', [
    { customer_id: 'A', score: 1, event_ts: '2026-03-01T00:00:00Z' },
    { customer_id: 'B', score: 2, event_ts: '2026-03-01T00:00:00Z' },
  ]);
  return fixture;
}

describe('the snapshot list of an environment', () => {
  it('keeps both of two snapshots created at the same time (one change at a time)', async () => {
    const { dataDir } = await store();
    await Promise.all(
      ['one', 'two', 'three'].map((name) =>
        createSnapshot(dataDir, 'local', { name, sources: ['scores'] }),
      ),
    );
    expect((await listSnapshots(dataDir, 'local')).map((s) => s.name).sort()).toEqual([
      'one',
      'three',
      'two',
    ]);
    expect(await readdir(offlineRoot(dataDir, 'local'))).not.toContain('_snapshots.lock');
  });

  it('gives retention each snapshot’s pins (snapshotPins), a source with nothing ingested at 0', async () => {
    const { dataDir } = await store();
    await createSnapshot(dataDir, 'local', { name: 'v1', sources: ['scores', 'clicks'] });
    expect(await snapshotPins(dataDir, 'local')).toEqual([
      {
        name: 'v1',
        pins: new Map([
          ['clicks', 0n],
          ['scores', 2n],
        ]),
      },
    ]);
    await deleteSnapshot(dataDir, 'local', 'v1');
    expect(await snapshotPins(dataDir, 'local')).toEqual([]);
  });

  it('takes over a lock left by a killed process', async () => {
    const { dataDir } = await store();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(path.join(offlineRoot(dataDir, 'local'), '_snapshots.lock'), `${dead}\n`);
    await createSnapshot(dataDir, 'local', { name: 'v1', sources: ['scores'] });
    expect((await listSnapshots(dataDir, 'local')).map((s) => s.name)).toEqual(['v1']);
  });

  it('waits for a lock a running process holds, then says how to clear it', async () => {
    const { dataDir } = await store();
    await writeFile(
      path.join(offlineRoot(dataDir, 'local'), '_snapshots.lock'),
      `${process.pid}\n`,
    );
    await expect(
      createSnapshot(dataDir, 'local', { name: 'v1', sources: ['scores'] }),
    ).rejects.toThrow(/another fstore is changing the snapshots .*_snapshots\.lock exists/);
    expect(existsSync(snapshotsPath(dataDir, 'local'))).toBe(false);
  }, 20_000);

  it('refuses a damaged list rather than reading it as empty (which would drop every pin)', async () => {
    const { dataDir } = await store();
    await writeFile(snapshotsPath(dataDir, 'local'), '{"format":1,"snapshots":[{"name":');
    await expect(snapshotPins(dataDir, 'local')).rejects.toThrow('is damaged');
    await expect(
      createSnapshot(dataDir, 'local', { name: 'v2', sources: ['scores'] }),
    ).rejects.toThrow('is damaged');
  });

  it('refuses a description over 1,000 characters', async () => {
    const { dataDir } = await store();
    await expect(
      createSnapshot(dataDir, 'local', {
        name: 'v1',
        sources: ['scores'],
        description: 'x'.repeat(1001),
      }),
    ).rejects.toThrow('is 1001 characters long');
  });
});
