import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './run-fstore.ts';
import type { S3CompactionFixture } from './s3-compaction-fixture.ts';

/**
 * Runs test/helpers/<script> under tsx in a process of its own, pointed at the fixture's loopback
 * bucket (its endpoint, FSTORE_TEST_BUCKET, FSTORE_TEST_SCRATCH) with `env` added and
 * FSTORE_FAULT=`point`, so it can be killed with SIGKILL at that step. Resolves with the signal
 * that ended it (null when it exited) and its stdout and stderr together.
 */
export function runFaultChildOnBucket(
  script: string,
  point: string,
  fixture: Pick<S3CompactionFixture, 'bucket' | 'scratch'>,
  env: Record<string, string>,
): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test', 'helpers', script)],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...fixture.bucket.env,
          FSTORE_FAULT: point,
          FSTORE_TEST_BUCKET: fixture.bucket.name,
          FSTORE_TEST_SCRATCH: fixture.scratch,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, out }));
  });
}
