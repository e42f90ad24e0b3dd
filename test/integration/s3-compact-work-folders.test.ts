import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

/** Above Linux's highest pid_max (2^22): no process has it. */
const deadPid = 4_194_305;

const fixture = useS3CompactionFixture('s3-compact-work-folders');
beforeEach(() => {
  fixture.bucket.objects.clear();
  fixture.bucket.beforeRequest = undefined;
});

async function folder(parent: string, name: string): Promise<void> {
  await mkdir(path.join(parent, name));
  await writeFile(path.join(parent, name, 'in-0.parquet'), Buffer.alloc(1024));
}

const compact = (workDir: string) => fixture.compactInProcess({ workDir });

describe("an S3 compaction's work folder in a reused temporary folder (a warm Lambda's /tmp)", () => {
  it("removes at its start the work folders a killed process left, also one of this process's pid, and keeps a live process's and others' folders", async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'fstore-stale-compactions-'));
    // Killed by a hard timeout: its process is gone.
    await folder(parent, `fstore-compact-${deadPid}-a1B2c3`);
    // Lambda restarts its runtime after a timeout, often under the same pid as before.
    await folder(parent, `fstore-compact-${process.pid}-d4E5f6`);
    // Another process still compacting in the same folder (this test's parent).
    await folder(parent, `fstore-compact-${process.ppid}-g7H8i9`);
    // Push ingest's run folders are its own to sweep.
    await folder(parent, `fstore-push-run-${deadPid}-j1K2l3`);
    await folder(parent, 'fstore-other-work');
    await writeFile(path.join(parent, 'notes.txt'), 'kept');
    // Nothing to merge: the sweep does not wait for a merge to need a folder.
    const result = await compact(parent);
    expect(result.merges).toEqual([]);
    expect((await readdir(parent)).sort()).toEqual(
      [
        `fstore-compact-${process.ppid}-g7H8i9`,
        `fstore-push-run-${deadPid}-j1K2l3`,
        'fstore-other-work',
        'notes.txt',
      ].sort(),
    );
  });

  it('merges in a folder named with its pid, so that a later run can tell it was killed, and removes it after', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'fstore-compaction-folder-'));
    for (const [i, id] of threeIngestIds.slice(0, 2).entries())
      await fixture.commitIngest(i, id, [
        [ordersDataKey('2026-03-01', id), [i * 10 + 1, i * 10 + 2]],
      ]);
    const whileMerging: string[][] = [];
    fixture.bucket.beforeRequest = async (method, key) => {
      if (method === 'GET' && key.startsWith('offline/orders/dt='))
        whileMerging.push(await readdir(parent));
      return undefined;
    };
    const result = await compact(parent);
    expect(result.merges).toHaveLength(1);
    expect(whileMerging).toHaveLength(2);
    for (const names of whileMerging) {
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(new RegExp(`^fstore-compact-${process.pid}-`));
    }
    expect(await readdir(parent)).toEqual([]);
  });
});
