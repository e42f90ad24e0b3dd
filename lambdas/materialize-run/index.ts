import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readRunControllerConfig } from './config.ts';
import { createRunControllerHandler } from './handler.ts';

/** Replaced at bundle time (esbuild define) with the materializer's projection of the registry. */
declare const FSTORE_REGISTRY: RuntimeRegistry;

export const handler = createRunControllerHandler({
  registry: FSTORE_REGISTRY,
  dynamo: new DynamoDBClient({}),
  athena: new AthenaClient({}),
  s3: new S3Client({}),
  config: readRunControllerConfig(process.env),
});
