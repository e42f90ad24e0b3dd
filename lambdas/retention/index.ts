import { S3Client } from '@aws-sdk/client-s3';
import { rewriteS3Objects } from '../../lib/offline/s3-rewrite-objects.ts';
import { readRetentionConfig } from './config.ts';
import { createRetentionHandler } from './handler.ts';

export const handler = createRetentionHandler({
  s3: new S3Client({}),
  config: readRetentionConfig(process.env),
  // DuckDB is in the function's image (lib/constructs/scheduled-retention.ts).
  rewrite: rewriteS3Objects,
});
