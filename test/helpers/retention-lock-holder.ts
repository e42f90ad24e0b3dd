import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import type { MemoryBucket } from './s3-memory-bucket.ts';

/** The lock record of a scheduled retention of `source` holding the lock for the next 5 minutes. */
export const retentionLockHolder = (source: string) => ({
  owner: 'a1b2c3d4e5f6',
  host: 'lambda-1',
  pid: 8,
  purpose: `the retention of source "${source}"`,
  started: new Date().toISOString(),
  expires: new Date(Date.now() + 300_000).toISOString(),
  leaseMs: 300_000,
});

/** Puts that record at the compaction lock of `source` in the loopback bucket, modified now. */
export function holdLockAsRetention(bucket: MemoryBucket, source: string) {
  const holder = retentionLockHolder(source);
  const key = compactionLockKey(source);
  bucket.objects.set(key, Buffer.from(JSON.stringify(holder)));
  bucket.modified.set(key, new Date());
  return holder;
}
