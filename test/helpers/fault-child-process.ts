import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './run-fstore.ts';
import type { S3CompactionFixture } from './s3-compaction-fixture.ts';

/** How a fault child ended: the signal that ended it (null when it exited), stdout and stderr together. */
export interface FaultChildEnd {
  signal: NodeJS.Signals | null;
  out: string;
}

/**
 * Runs test/helpers/<script> under tsx in a process of its own with `env` added and
 * FSTORE_FAULT=`point`, so it can be killed with SIGKILL at that step.
 */
export function runFaultChild(
  script: string,
  point: string,
  env: Record<string, string>,
): Promise<FaultChildEnd> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test', 'helpers', script)],
      {
        cwd: repoRoot,
        env: { ...process.env, FSTORE_FAULT: point, ...env },
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

/**
 * runFaultChild pointed at the fixture's loopback bucket (its endpoint, FSTORE_TEST_BUCKET,
 * FSTORE_TEST_SCRATCH), `env` added last.
 */
export function runFaultChildOnBucket(
  script: string,
  point: string,
  fixture: Pick<S3CompactionFixture, 'bucket' | 'scratch'>,
  env: Record<string, string>,
): Promise<FaultChildEnd> {
  return runFaultChild(script, point, {
    ...fixture.bucket.env,
    FSTORE_TEST_BUCKET: fixture.bucket.name,
    FSTORE_TEST_SCRATCH: fixture.scratch,
    ...env,
  });
}
