// A process of its own running applyS3Retention (boundary day rewritten) of source `orders`
// against the loopback bucket of the parent test (its env: AWS_ENDPOINT_URL_S3,
// FSTORE_TEST_BUCKET, FSTORE_TEST_SCRATCH, FSTORE_TEST_NOW, FSTORE_TEST_LEASE_MS), so
// FSTORE_FAULT can kill it with SIGKILL at a step. Prints the result as JSON.
import { applyS3Retention } from '../../lib/offline/s3-retention.ts';
import { boundaryRewriteIn, tenDaysOfOrders } from './orders-retention-options.ts';
import { memoryBucketClient } from './s3-memory-bucket.ts';

const now = Number(process.env.FSTORE_TEST_NOW);
const result = await applyS3Retention(
  tenDaysOfOrders(
    memoryBucketClient({ endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? '' }),
    process.env.FSTORE_TEST_BUCKET ?? '',
    now,
    {
      leaseMs: Number(process.env.FSTORE_TEST_LEASE_MS ?? 60_000),
      boundaryRewrite: boundaryRewriteIn(process.env.FSTORE_TEST_SCRATCH ?? ''),
    },
  ),
);
process.stdout.write(`${JSON.stringify(result)}\n`);
