import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { putItemFromEnvironment } from '../../lib/online/dynamodb-batch-get/from-environment.ts';
import type { PutItem } from '../../lib/online/dynamodb-batch-get/signed-put-item.ts';
import { firehoseOfflineSink } from '../../lib/push/firehose-offline-sink.ts';
import { pushStreamName } from '../../lib/push/firehose-staging.ts';
import { dynamoPushIdempotency } from '../../lib/push/push-idempotency.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readPushConfig } from './config.ts';
import { createPushHandler } from './handler.ts';

/**
 * Replaced at bundle time (esbuild define) with pushRegistryProjection of the compiled
 * registry: every source and every view reading it, with constraints.
 */
declare const FSTORE_REGISTRY: RuntimeRegistry;

// Built once per container: config, client and handler.
const config = readPushConfig(process.env);
const client = new DynamoDBClient({});
// The online puts go through the signed PutItem client (issue 17 §4). Where it cannot be built
// from the environment (a region of an isolated partition without AWS_ENDPOINT_URL_DYNAMODB, a
// non-loopback http:// endpoint) the SDK client writes them, as before; the log says why.
const putItem = ((): PutItem | undefined => {
  try {
    return putItemFromEnvironment(process.env);
  } catch (error) {
    console.warn(`push: online puts go through the AWS SDK client: ${(error as Error).message}`);
    return undefined;
  }
})();

export const handler = createPushHandler({
  registry: FSTORE_REGISTRY,
  client,
  ...(putItem ? { putItem } : {}),
  config,
  ...(config.idempotency
    ? {
        idempotency: dynamoPushIdempotency({
          client,
          table: config.idempotency.tableName,
          expiresAfterSeconds: config.idempotency.expiresAfterSeconds,
          inProgressExpiryMs: config.idempotency.inProgressExpiryMs,
        }),
      }
    : {}),
  ...(config.offlineStreamsEnv === undefined
    ? {}
    : {
        offline: firehoseOfflineSink({
          client: new FirehoseClient({}),
          streamName: (source) => pushStreamName(config.offlineStreamsEnv as string, source),
        }),
      }),
});
