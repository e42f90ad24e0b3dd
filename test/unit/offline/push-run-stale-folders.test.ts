import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PushIngestRun } from '../../../lib/offline/push-ingest-run.ts';

/** Above Linux's highest pid_max (2^22): no process has it. */
const deadPid = 4_194_305;

async function folder(parent: string, name: string): Promise<void> {
  await mkdir(path.join(parent, name));
  await writeFile(path.join(parent, name, '000000.parquet'), Buffer.alloc(1024));
}

describe("a push ingest run's folder in a reused temporary folder (a warm Lambda's /tmp)", () => {
  it("removes the run folders a killed process left, also one of a process with this run's pid, and keeps live runs' and others' folders", async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'fstore-stale-runs-'));
    // Killed by a hard timeout: its process is gone.
    await folder(parent, `fstore-push-run-${deadPid}-a1B2c3`);
    // Lambda restarts its runtime after a timeout, often under the same pid as before.
    await folder(parent, `fstore-push-run-${process.pid}-d4E5f6`);
    // Another process still running on the same folder (this test's parent).
    await folder(parent, `fstore-push-run-${process.ppid}-g7H8i9`);
    await folder(parent, 'fstore-other-work');
    await writeFile(path.join(parent, 'notes.txt'), 'kept');
    const earlier = await PushIngestRun.open({ workDir: parent });
    const run = await PushIngestRun.open({ workDir: parent });
    try {
      expect((await readdir(parent)).sort()).toEqual(
        [
          path.basename(earlier.dir),
          path.basename(run.dir),
          `fstore-push-run-${process.ppid}-g7H8i9`,
          'fstore-other-work',
          'notes.txt',
        ].sort(),
      );
      expect(path.basename(run.dir)).toMatch(new RegExp(`^fstore-push-run-${process.pid}-`));
    } finally {
      await run.close();
      await earlier.close();
    }
  });
});
