import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readShardWriterConfig } from './config.ts';
import { createShardWriterHandler } from './handler.ts';

/** Replaced at bundle time (esbuild define) with the materializer's projection of the registry. */
declare const FSTORE_REGISTRY: RuntimeRegistry;

export const handler = createShardWriterHandler({
  registry: FSTORE_REGISTRY,
  dynamo: new DynamoDBClient({}),
  s3: new S3Client({}),
  athena: new AthenaClient({}),
  config: readShardWriterConfig(process.env),
});
