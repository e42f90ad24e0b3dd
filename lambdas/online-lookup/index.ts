import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sdkLoggerWithoutInfo } from '../../lib/online/sdk-logger.ts';
import type { Registry } from '../../lib/registry/index.ts';
import { createLookupHandler, readLookupConfig } from './handler.ts';

/** Replaced at bundle time with the compiled registry (esbuild define), so cold start reads no files. */
declare const FSTORE_REGISTRY: Registry;

// Built once per container: config, client (keep-alive is the SDK default in v3) and handler.
export const handler = createLookupHandler({
  registry: FSTORE_REGISTRY,
  client: new DynamoDBClient({ logger: sdkLoggerWithoutInfo }),
  config: readLookupConfig(process.env),
});
