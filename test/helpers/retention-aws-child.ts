// A process of its own running applyS3Retention (boundary day rewritten) of source `orders`
// against the loopback bucket of the parent test (its env: AWS_ENDPOINT_URL_S3,
// FSTORE_TEST_BUCKET, FSTORE_TEST_SCRATCH, FSTORE_TEST_NOW, FSTORE_TEST_LEASE_MS), so
// FSTORE_FAULT can kill it with SIGKILL at a step. Prints the result as JSON.
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { applyS3Retention } from '../../lib/offline/s3-retention.ts';
import { rewriteS3Objects } from '../../lib/offline/s3-rewrite-objects.ts';
import { memoryBucketClient } from './s3-memory-bucket.ts';

const now = Number(process.env.FSTORE_TEST_NOW);
const result = await applyS3Retention({
  s3: memoryBucketClient({ endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? '' }),
  bucket: process.env.FSTORE_TEST_BUCKET ?? '',
  source: 'orders',
  prefix: 'offline/orders/',
  retentionSeconds: 10 * 86_400,
  nowMicros: microsOfMillis(now),
  pins: [],
  now: () => new Date(now),
  leaseMs: Number(process.env.FSTORE_TEST_LEASE_MS ?? 60_000),
  boundaryRewrite: {
    rewrite: rewriteS3Objects,
    region: 'eu-west-1',
    timestampField: 'event_ts',
    workDir: process.env.FSTORE_TEST_SCRATCH ?? '',
  },
});
process.stdout.write(`${JSON.stringify(result)}\n`);
