import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HttpApiEvent } from '../../lib/api/http-api-event.ts';
import { EmfMetrics, type MetricsSink, MetricUnit } from '../../lib/observability/emf-metrics.ts';
import {
  type InvocationContext,
  observedHandler,
} from '../../lib/observability/observed-handler.ts';
import { type LogSink, StructuredLogger } from '../../lib/observability/structured-logger.ts';
import type { PutItem } from '../../lib/online/dynamodb-batch-get/signed-put-item.ts';
import type { PushStore } from '../../lib/push/execute-push.ts';
import { pushEventHandler } from '../../lib/push/push-event.ts';
import type { PushIdempotency } from '../../lib/push/push-idempotency.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import type { PushConfig } from './config.ts';

export interface PushHandlerDependencies {
  readonly registry: RuntimeRegistry;
  /** The DynamoDB client of the online table (and of the Idempotency-Key records). */
  readonly client: DynamoDBClient;
  /**
   * Sends the online puts instead of `client` when given: the signed PutItem client
   * (putItemFromEnvironment), whose per-put cost is well below the SDK's (issue 17 §4).
   */
  readonly putItem?: PutItem;
  readonly config: PushConfig;
  /** Idempotency-Key records; without them a push with the header answers 501. */
  readonly idempotency?: PushIdempotency;
  /**
   * Stores rows for the offline store: the source's Firehose stream (ADR 0016); without it
   * offline targets answer 501 OFFLINE_PUSH_UNAVAILABLE.
   */
  readonly offline?: PushStore['offline'];
  readonly metrics?: MetricsSink;
  readonly logger?: LogSink;
  readonly now?: () => number;
}

/**
 * The push Lambda behind `POST /v1/push/{source}`: the local server's push route
 * (handlePush) with its clients passed in. Offline rows go to the source's Firehose stream
 * (`offline`, ADR 0016); a function deployed without streams answers 501
 * OFFLINE_PUSH_UNAVAILABLE for offline targets after the rows were checked. Logs and EMF
 * metrics as the lookup's: rows per push, latency, client and server errors.
 */
export function createPushHandler(deps: PushHandlerDependencies) {
  const metrics = deps.metrics ?? new EmfMetrics({ namespace: 'fstore', serviceName: 'push' });
  const logger = deps.logger ?? new StructuredLogger({ serviceName: 'push' });
  const push = pushEventHandler({
    registry: deps.registry,
    limits: deps.config.limits,
    client: deps.client,
    ...(deps.putItem ? { putItem: deps.putItem } : {}),
    table: deps.config.tableName,
    // The AWS offline store numbers ingests by the clock; staged pushes are compacted later.
    seqFromClock: true,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.idempotency ? { idempotency: deps.idempotency } : {}),
    ...(deps.offline ? { offline: deps.offline } : {}),
    onError: (error, requestId) =>
      logger.error('push failed', { requestId, error: error as Error }),
  });
  return observedHandler(
    { logger, metrics },
    async (event: HttpApiEvent, _context: InvocationContext) => {
      const started = performance.now();
      const response = await push(event);
      metrics.addMetric('PushLatency', MetricUnit.Milliseconds, performance.now() - started);
      if (response.statusCode >= 500) metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
      else if (response.statusCode >= 400) metrics.addMetric('ClientErrors', MetricUnit.Count, 1);
      else metrics.addMetric('RowsPushed', MetricUnit.Count, pushedRows(response.body));
      return response;
    },
  );
}

function pushedRows(body: string): number {
  const rows = (JSON.parse(body) as { rows?: unknown }).rows;
  return typeof rows === 'number' ? rows : 0;
}
