import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sdkLoggerWithoutInfo } from '../../lib/online/sdk-logger.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { createLookupHandler, readLookupConfig } from './handler.ts';

/**
 * Replaced at bundle time (esbuild define) with lookupRegistryProjection of the compiled
 * registry, so cold start reads no files and a metadata edit leaves this bundle as it was.
 */
declare const FSTORE_REGISTRY: RuntimeRegistry;

// Built once per container: config, client (keep-alive is the SDK default in v3) and handler.
export const handler = createLookupHandler({
  registry: FSTORE_REGISTRY,
  client: new DynamoDBClient({ logger: sdkLoggerWithoutInfo }),
  config: readLookupConfig(process.env),
});
