import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readMaterializeConfig } from './config.ts';
import { createMaterializeHandler } from './handler.ts';

/**
 * Replaced at bundle time (esbuild define) with materializerRegistryProjection of the compiled
 * registry: its online views and their sources, without schedules or other metadata.
 */
declare const FSTORE_REGISTRY: RuntimeRegistry;

export const handler = createMaterializeHandler({
  registry: FSTORE_REGISTRY,
  dynamo: new DynamoDBClient({}),
  athena: new AthenaClient({}),
  s3: new S3Client({}),
  lambda: new LambdaClient({}),
  config: readMaterializeConfig(process.env),
});
