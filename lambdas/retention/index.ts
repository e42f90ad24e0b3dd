import { S3Client } from '@aws-sdk/client-s3';
import { readRetentionConfig } from './config.ts';
import { createRetentionHandler } from './handler.ts';

export const handler = createRetentionHandler({
  s3: new S3Client({}),
  config: readRetentionConfig(process.env),
});
