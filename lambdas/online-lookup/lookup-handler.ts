import { randomUUID } from 'node:crypto';
import { type ApiDependencies, handleRequest } from '../../lib/api/handle-request.ts';
import type { HttpApiEvent } from '../../lib/api/http-api-event.ts';
import { EmfMetrics, type MetricsSink, MetricUnit } from '../../lib/observability/emf-metrics.ts';
import {
  type InvocationContext,
  observedHandler,
} from '../../lib/observability/observed-handler.ts';
import { type LogSink, StructuredLogger } from '../../lib/observability/structured-logger.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import type { BatchGetItems } from '../../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { LookupCache } from '../../lib/online/lookup-cache.ts';
import { fetchLookup } from '../../lib/online/online-lookup.ts';
import type { RuntimeRegistry } from '../../lib/registry/runtime-projection.ts';
import type { LookupConfig } from './config.ts';
import { invocationOf } from './invocation.ts';

export type { HttpApiEvent };

export interface BatchGetLookupDependencies {
  readonly registry: RuntimeRegistry;
  /** BatchGetItem on the online table: the Lambda's signed client, or an SDK client's. */
  readonly batchGet: BatchGetItems;
  readonly config: LookupConfig;
  /** EMF metrics; lib/observability's by default (a Powertools Metrics also fits). */
  readonly metrics?: MetricsSink;
  /** JSON logs; lib/observability's by default (a Powertools Logger also fits). */
  readonly logger?: LogSink;
  /** Whether the online store can serve, for `/v1/health`; healthy when not given. */
  readonly health?: () => Promise<boolean>;
  /** Finds on-demand transforms (ApiDependencies.transformFor); the source-hash check by default. */
  readonly transformFor?: ApiDependencies['transformFor'];
}

/**
 * The lookup Lambda: a thin handler around handleRequest, with its clients passed in. It writes
 * structured logs and CloudWatch metrics (EMF) in Powertools' format through lib/observability,
 * whose load costs the cold start far less than Powertools and middy (ADR 0014): latency,
 * entities per request, not-found and outside-TTL rates, client and server errors.
 */
export function createBatchGetLookupHandler(deps: BatchGetLookupDependencies) {
  const metrics =
    deps.metrics ?? new EmfMetrics({ namespace: 'fstore', serviceName: 'online-lookup' });
  const logger = deps.logger ?? new StructuredLogger({ serviceName: 'online-lookup' });
  const cache = deps.config.cacheTtlMs > 0 ? new LookupCache(deps.config.cacheTtlMs) : undefined;
  // Bit for bit what an uncached lookup reads (each entity's head item says when to re-read).
  const tileCache = new TileItemCache();
  const api: ApiDependencies = {
    registry: deps.registry,
    limits: { maxEntities: deps.config.maxEntities, maxBodyBytes: deps.config.maxBodyBytes },
    lookup: (request, call) =>
      fetchLookup(deps.batchGet, deps.config.tableName, deps.registry, request, {
        ...(cache ? { cache } : {}),
        tileCache,
        ...call,
      }),
    health: deps.health ?? (async () => true),
    ...(deps.transformFor ? { transformFor: deps.transformFor } : {}),
    onUnexpectedError: (error) => logger.error('unexpected error', error as Error),
    onDependencyError: ({ level, message, ...fields }) => logger[level](message, fields),
    onLookupServed: (stats) => {
      metrics.addMetric('EntitiesPerRequest', MetricUnit.Count, stats.entities);
      if (stats.features > 0) {
        metrics.addMetric(
          'NotFoundRate',
          MetricUnit.Percent,
          (100 * stats.notFound) / stats.features,
        );
        metrics.addMetric(
          'OutsideTtlRate',
          MetricUnit.Percent,
          (100 * stats.outsideTtl) / stats.features,
        );
      }
    },
  };
  const observed = observedHandler(
    { logger, metrics },
    async (event: HttpApiEvent, context: InvocationContext) => {
      const started = performance.now();
      const response = await handleRequest(
        {
          method: event.requestContext.http.method,
          path: event.rawPath,
          ...(event.headers ? { headers: event.headers } : {}),
          body:
            event.body === undefined
              ? null
              : event.isBase64Encoded
                ? Buffer.from(event.body, 'base64').toString('utf8')
                : event.body,
          ...invocationOf(context, deps.config),
        },
        api,
      );
      metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, performance.now() - started);
      if (response.statusCode >= 500) metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
      else if (response.statusCode >= 400) metrics.addMetric('ClientErrors', MetricUnit.Count, 1);
      return response;
    },
  );
  return (event: HttpApiEvent, context: InvocationContext) =>
    observed(event, withRequestId(event, context));
}

/**
 * The context with a request id: Lambda's always has one; a local context without one (the
 * local server's, a benchmark's) takes the request's (the local server's UUID) or a new UUID,
 * so logs and 5xx answers of different requests never share an id.
 */
function withRequestId(event: HttpApiEvent, context: InvocationContext): InvocationContext {
  if (context.awsRequestId) return context;
  return { ...context, awsRequestId: event.requestContext.requestId || randomUUID() };
}
