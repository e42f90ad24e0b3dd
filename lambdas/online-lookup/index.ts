import { transformOf } from '../../lib/on-demand/transform-catalog.ts';
import { batchGetFromEnvironment } from '../../lib/online/dynamodb-batch-get/from-environment.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readLookupConfig } from './config.ts';
import { createBatchGetLookupHandler } from './lookup-handler.ts';

/**
 * Replaced at bundle time (esbuild define) with lookupRegistryProjection of the compiled
 * registry, so cold start reads no files and a metadata edit leaves this bundle as it was.
 */
declare const FSTORE_REGISTRY: RuntimeRegistry;

// Built once per container: config, client and handler. The client is fstore's own signed
// BatchGetItem over a keep-alive agent, not the AWS SDK's, whose load was most of the cold start.
export const handler = createBatchGetLookupHandler({
  registry: FSTORE_REGISTRY,
  batchGet: batchGetFromEnvironment(process.env),
  config: readLookupConfig(process.env),
  // The definitions files of on-demand views are injected into this bundle (ServingApi), from
  // the synthesis that compiled FSTORE_REGISTRY: found by name, since minifying changes the
  // source text the registry hashed.
  transformFor: (view) => transformOf(view.name),
});
