/**
 * The push Lambda's own handler (lambdas/push/handler.ts, with its EMF metrics and structured
 * logger, their lines serialized and dropped) called in this process with API Gateway events,
 * against the bare conditional puts it issues sent from this process through the same signed
 * client to the same DynamoDB-API server: what the handler adds over its writes, without the
 * local server's HTTP hop (on AWS that hop is API Gateway's, not the handler's) and without the
 * server's event loop, which also runs dynalite, counted on one side only.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createPushHandler } from '../lambdas/push/handler.ts';
import { EmfMetrics } from '../lib/observability/emf-metrics.ts';
import { StructuredLogger } from '../lib/observability/structured-logger.ts';
import type { PutItem } from '../lib/online/dynamodb-batch-get/signed-put-item.ts';
import { defaultPushLimits } from '../lib/push/push-limits.ts';
import type { Registry } from '../lib/registry/index.ts';
import { pushRegistryProjection } from '../lib/registry/runtime-projection.ts';

export interface InProcessPush {
  /** Pushes `rows` (`to: "online"`) through the handler; throws unless every row was written. */
  push(rows: readonly unknown[]): Promise<void>;
  /** Bytes of log and metric lines the handler wrote (serialized, then dropped). */
  readonly droppedBytes: () => number;
}

export function inProcessPushHandler(options: {
  registry: Registry;
  client: DynamoDBClient;
  putItem: PutItem;
  table: string;
  source: string;
}): InProcessPush {
  let dropped = 0;
  const drop = (line: string) => {
    dropped += line.length;
  };
  const handler = createPushHandler({
    registry: pushRegistryProjection(options.registry),
    client: options.client,
    putItem: options.putItem,
    config: { tableName: options.table, limits: defaultPushLimits },
    metrics: new EmfMetrics({ namespace: 'fstore', serviceName: 'push', write: drop }),
    logger: new StructuredLogger({ serviceName: 'push', write: (_level, line) => drop(line) }),
  });
  let request = 0;
  const context = {
    functionName: 'fstore-bench-push',
    awsRequestId: 'bench',
    getRemainingTimeInMillis: () => 30_000,
  };
  return {
    async push(rows) {
      request += 1;
      const response = await handler(
        {
          rawPath: `/v1/push/${options.source}`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ rows, to: 'online' }),
          requestContext: { requestId: `bench-${request}`, http: { method: 'POST' } },
        },
        context,
      );
      if (response.statusCode !== 200)
        throw new Error(`the push handler answered ${response.statusCode}: ${response.body}`);
      const written = (JSON.parse(response.body) as { online?: { written?: number } }).online
        ?.written;
      if (written !== rows.length)
        throw new Error(`the push handler wrote ${written} of ${rows.length} rows`);
    },
    droppedBytes: () => dropped,
  };
}
