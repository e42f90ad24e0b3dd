import type { S3Client } from '@aws-sdk/client-s3';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import type { S3RetentionOptions } from '../../lib/offline/s3-retention.ts';
import { rewriteS3Objects } from '../../lib/offline/s3-rewrite-objects.ts';

/**
 * The options of applyS3Retention keeping the last 10 days of source `orders` of the loopback
 * bucket at the fixed time `nowMs`, with no snapshot pin; `extra` overrides any of them.
 */
export function tenDaysOfOrders(
  s3: S3Client,
  bucket: string,
  nowMs: number,
  extra: Partial<S3RetentionOptions> = {},
): S3RetentionOptions {
  return {
    s3,
    bucket,
    source: 'orders',
    prefix: 'offline/orders/',
    retentionSeconds: 10 * 86_400,
    nowMicros: microsOfMillis(nowMs),
    pins: [],
    now: () => new Date(nowMs),
    ...extra,
  };
}

/** The boundary day's older rows dropped by rewriteS3Objects (by `event_ts`), its files in `workDir`. */
export const boundaryRewriteIn = (workDir: string): S3RetentionOptions['boundaryRewrite'] => ({
  rewrite: rewriteS3Objects,
  region: 'eu-west-1',
  timestampField: 'event_ts',
  workDir,
});
