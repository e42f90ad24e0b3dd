import { hostname } from 'node:os';
import { beforeEach, describe, expect, it } from 'vitest';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';
import { useS3CompactionFixture } from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('compact-s3-crash', { pageSize: 3 });

/** Three committed ingests of `orders`, each with an object in two partitions. */
beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitThreeIngests();
});

const readable = () => fixture.readable();
const rowsOnly = (rows: Record<string, unknown>[]) => rows.map(({ object: _, ...row }) => row);
const compact = (env: Record<string, string> = {}, extra: string[] = []) =>
  fixture.compact(['--json', ...extra], env);

describe('fstore compact --env <aws> killed during a real S3 compaction (loopback in-memory bucket)', () => {
  it.each(['compact:s3-after-upload', 'compact:before-commit'])(
    'killed at %s: the readable rows are unchanged, and a re-run completes with the same rows',
    async (point) => {
      const before = await readable();
      expect(before).toHaveLength(9);
      const keys = new Set(fixture.bucket.objects.keys());

      const killed = await compact({ FSTORE_FAULT: point });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      // Merged objects were uploaded (no record names them) and nothing committed.
      const left = [...fixture.bucket.objects.keys()].filter(
        (k) => !keys.has(k) && k !== compactionLockKey('orders'),
      );
      expect(left.length).toBeGreaterThan(0);
      expect(left.every((k) => k.startsWith('offline/orders/dt='))).toBe(true);
      expect(await readable()).toEqual(before);

      // The killed run never released its lock: a re-run is refused, naming the holder, until
      // its lease expires or the lock is broken by naming that owner.
      const lock = JSON.parse(
        fixture.bucket.objects.get(compactionLockKey('orders'))?.toString() ?? '{}',
      );
      expect(lock).toMatchObject({
        host: hostname(),
        purpose: 'the compaction of source "orders"',
      });
      const refused = await compact();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `the compaction of source "orders" is already running: the lock s3://${fixture.bucket.name}/offline/_ingests/orders/compactions/_lock.json is held by owner ${lock.owner}`,
      );
      expect(refused.stderr).toContain(`--break-lock ${lock.owner}`);
      expect(await readable()).toEqual(before);

      const rerun = await compact({}, ['--break-lock', lock.owner]);
      expect(rerun.code, rerun.stderr).toBe(0);
      const result = JSON.parse(rerun.stdout);
      expect(result.sources[0]).toMatchObject({
        source: 'orders',
        objectsBefore: 6,
        objectsAfter: 2,
        partitions: 2,
      });
      const after = await readable();
      expect(rowsOnly(after)).toEqual(rowsOnly(before));
      // Read from the re-run's merged objects only: neither the killed run's nor the replaced ones.
      expect([...new Set(after.map((r) => String(r.object)))]).toEqual(
        ['2026-03-01', '2026-03-02'].map(
          (dt) =>
            `s3://${fixture.bucket.name}/offline/orders/dt=${dt}/${result.sources[0].compactionId}-0.parquet`,
        ),
      );
    },
    120_000,
  );

  it('the dry run after a compaction counts the replaced objects apart, and those past keepUntil as to delete', async () => {
    expect((await compact({ FSTORE_COMPACT_KEEP_REPLACED: '0' })).code).toBe(0);
    const dry = await fixture.compact(['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'orders: nothing to merge (2 committed objects); 6 objects of uncommitted ingests or replaced by a compaction left alone (no reader reads them); 6 replaced objects past keepUntil would be deleted',
    );
  }, 120_000);

  it('a second run finds nothing to merge and changes nothing', async () => {
    expect((await compact()).code).toBe(0);
    const keys = [...fixture.bucket.objects.keys()].sort();
    const again = await compact();
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).sources[0]).toMatchObject({
      objectsBefore: 2,
      objectsAfter: 2,
    });
    expect([...fixture.bucket.objects.keys()].sort()).toEqual(keys);
  }, 120_000);

  it('refuses --break-lock without an owner id, with --dry-run, or on a local environment, and changes nothing', async () => {
    const keys = [...fixture.bucket.objects.keys()].sort();
    const notAnOwner = await compact({}, ['--break-lock', 'everyone']);
    expect(notAnOwner.code).toBe(2);
    expect(notAnOwner.stderr).toContain(
      `--break-lock must name the lock's owner as the "already running" error shows it (12 hex digits, or "unreadable"); got "everyone"`,
    );
    const dry = await compact({}, ['--dry-run', '--break-lock', '3f2a9c01b7d4']);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('--break-lock has no effect with --dry-run');
    const local = await runFstore(['compact', '--break-lock', '3f2a9c01b7d4'], {
      env: { FSTORE_DATA_DIR: await makeTempDir('compact-break-lock-local') },
    });
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--break-lock applies to AWS environments');
    expect([...fixture.bucket.objects.keys()].sort()).toEqual(keys);
  }, 120_000);
});
