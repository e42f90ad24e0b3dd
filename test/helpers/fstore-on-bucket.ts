import { runFstore } from './run-fstore.ts';
import type { MemoryBucket } from './s3-memory-bucket.ts';

/** `fstore --defs <defsDir> --data-dir <dataDir> --env dev ...args` with AWS's S3 at the loopback bucket. */
export const fstoreOnBucket =
  (bucket: MemoryBucket, defsDir: string, dataDir: string) =>
  (...args: string[]) =>
    runFstore(['--defs', defsDir, '--data-dir', dataDir, '--env', 'dev', ...args], {
      env: bucket.env,
    });
