import { S3Client } from '@aws-sdk/client-s3';
import { readS3CommittedSources, s3CommittedSeqs } from '../../offline/s3-committed-ingests.ts';
import {
  createS3Snapshot,
  deleteS3Snapshot,
  findS3Snapshot,
  listS3Snapshots,
} from '../../offline/s3-snapshots.ts';
import { awsRegion } from '../aws-region.ts';
import type { SnapshotBackend } from './snapshot.ts';

/**
 * Snapshots of an AWS environment: objects under `_fstore/snapshots/` of its offline bucket,
 * pinning what the S3 commit records say is committed (lib/offline/s3-snapshots.ts).
 */
export function awsSnapshots(env: string, bucket: string): SnapshotBackend {
  const s3 = new S3Client({ region: awsRegion(env) });
  const store = { s3, bucket, env };
  return {
    create: (wanted, lock) =>
      createS3Snapshot(
        store,
        wanted,
        async (sources) => s3CommittedSeqs(await readS3CommittedSources(s3, bucket, sources)),
        lock ?? {},
      ),
    list: () => listS3Snapshots(store),
    find: (name) => findS3Snapshot(store, name),
    delete: (name) => deleteS3Snapshot(store, name),
  };
}
