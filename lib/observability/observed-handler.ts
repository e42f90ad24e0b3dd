import type { MetricsSink } from './emf-metrics.ts';
import type { LogContext, LogSink } from './structured-logger.ts';

/** The parts of Lambda's invocation context the lookup reads. */
export interface InvocationContext extends LogContext {
  getRemainingTimeInMillis(): number;
}

/**
 * A Lambda handler that logs with the invocation's context and publishes the metrics it stored
 * when it returns or throws: what Powertools' injectLambdaContext and logMetrics middlewares
 * did under middy, without loading middy (and the web streams it imports) at cold start.
 */
export function observedHandler<Event, Result, Context extends InvocationContext>(
  observability: { readonly logger: LogSink; readonly metrics: MetricsSink },
  handler: (event: Event, context: Context) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  return async (event, context) => {
    observability.logger.addContext(context);
    try {
      return await handler(event, context);
    } finally {
      observability.metrics.publishStoredMetrics();
    }
  };
}
