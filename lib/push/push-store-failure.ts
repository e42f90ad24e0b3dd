import { TileContentionError } from '../online/aggregation-tiles/write-row-tiles.ts';
import { WriteThrottledError } from '../online/conditional-puts.ts';
import { DeadlineExceededError } from '../online/dynamodb-batch-get/deadline.ts';
import { DynamoDbRequestError } from '../online/dynamodb-batch-get/dynamodb-request-error.ts';

const transientNames = new Set([
  'TimeoutError',
  'NetworkingError',
  'RequestTimeout',
  'InternalServerError',
  'ServiceUnavailable',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/**
 * Whether an error of a push's writes is the online store failing (throttled past the retries,
 * unreachable, a 5xx): the caller may retry. Anything else that is not a client mistake is a bug
 * or a misconfiguration.
 */
export function storeFailure(error: unknown): boolean {
  if (
    error instanceof WriteThrottledError ||
    error instanceof DeadlineExceededError ||
    error instanceof TileContentionError
  )
    return true;
  // The signed client's own verdict after its retries (timeouts, 5xx, resets: retryable), as
  // lib/online/store-failure.ts reads it for lookups; a refusal for good stays a 500.
  if (error instanceof DynamoDbRequestError) return error.retryable;
  const e = error as {
    name?: string;
    code?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (transientNames.has(e.name ?? '')) return true;
  if (e.$fault === 'server' || (e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '');
}
