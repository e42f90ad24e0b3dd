import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { S3Client } from '@aws-sdk/client-s3';
import { s3Quarantine } from '../../lib/materialize/quarantine.ts';
import { firehoseOfflineSink } from '../../lib/push/firehose-offline-sink.ts';
import { pushStreamName } from '../../lib/push/firehose-staging.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import { readStreamPushConfig, streamQuarantinePrefix } from './config.ts';
import { createStreamPushHandler } from './handler.ts';

/** Replaced at bundle time (esbuild define) with pushRegistryProjection of the compiled registry. */
declare const FSTORE_REGISTRY: RuntimeRegistry;

// Built once per container: config, clients and handler.
const config = readStreamPushConfig(process.env);
const client = new DynamoDBClient({});
const s3 = new S3Client({});

export const handler = createStreamPushHandler({
  registry: FSTORE_REGISTRY,
  client,
  config,
  quarantine: (run) => s3Quarantine(s3, config.quarantineBucket, streamQuarantinePrefix, run),
  ...(config.offlineStreamsEnv === undefined
    ? {}
    : {
        offline: firehoseOfflineSink({
          client: new FirehoseClient({}),
          streamName: (source) => pushStreamName(config.offlineStreamsEnv as string, source),
        }),
      }),
});
