import { isObject } from '../../is-object.ts';

/**
 * A BatchGetItem call that failed: DynamoDB's error type (`ProvisionedThroughputExceededException`,
 * `ResourceNotFoundException` ...; `TimeoutError`, `NetworkError` or `MalformedResponse` when
 * no answer could be read), the HTTP status when there was one, and whether a retry may succeed.
 */
export class DynamoDbRequestError extends Error {
  constructor(
    message: string,
    readonly errorType: string,
    readonly statusCode: number | undefined,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Error types DynamoDB (or a proxy in front of it) uses for throttling: retried like a 5xx, as
 * the AWS SDK's standard retry mode does.
 */
const throttlingTypes = new Set([
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'LimitExceededException',
]);

/** Error types of a request that timed out on the server's side: retried, as the AWS SDK does. */
const transientTypes = new Set(['RequestTimeout', 'RequestTimeoutException']);

/** The error of an HTTP answer other than 200, from its JSON body (`__type`, `message`) or headers. */
export function errorOfResponse(
  statusCode: number,
  errorTypeHeader: string | undefined,
  body: string,
): DynamoDbRequestError {
  let document: { __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed)) document = parsed;
  } catch {
    // A proxy's HTML or an empty body: the status and header still say what happened.
  }
  const fullType =
    (typeof document.__type === 'string' && document.__type) ||
    errorTypeHeader?.split(':')[0] ||
    `HTTP${statusCode}`;
  const errorType = fullType.slice(fullType.lastIndexOf('#') + 1);
  const detail =
    (typeof document.message === 'string' && document.message) ||
    (typeof document.Message === 'string' && document.Message) ||
    body.slice(0, 200).trim() ||
    'no message';
  const retryable =
    statusCode >= 500 ||
    statusCode === 429 ||
    throttlingTypes.has(errorType) ||
    transientTypes.has(errorType);
  return new DynamoDbRequestError(
    `DynamoDB answered ${statusCode} ${errorType}: ${detail}`,
    errorType,
    statusCode,
    retryable,
  );
}

/** Socket errors a new connection may not see again (a reset keep-alive socket, a refused connect). */
const transientSocketCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  // No local port or buffer left for a new socket: a burst that passes.
  'EADDRNOTAVAIL',
  'ENOBUFS',
]);

/** A failure to send or to receive: retryable when the socket error is transient. */
export function errorOfNetwork(error: unknown): DynamoDbRequestError {
  if (error instanceof DynamoDbRequestError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new DynamoDbRequestError(
    `DynamoDB could not be reached: ${(error as Error).message ?? String(error)}`,
    'NetworkError',
    undefined,
    typeof code === 'string' && transientSocketCodes.has(code),
    { cause: error },
  );
}

/**
 * Whether a failed call's error may pass on a retry: the signed client's own verdict, or, for an
 * AWS SDK service error, its fault (server) and throttling or transient type; undefined when the
 * error says nothing of it (a local store's failure, an SDK timeout).
 */
export function retryableOf(error: unknown): boolean | undefined {
  if (error instanceof DynamoDbRequestError) return error.retryable;
  if (!isObject(error) || (error.$fault !== 'client' && error.$fault !== 'server'))
    return undefined;
  const sdk = error as {
    name?: unknown;
    $fault: 'client' | 'server';
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const name = typeof sdk.name === 'string' ? sdk.name : '';
  return (
    sdk.$fault === 'server' ||
    sdk.$retryable !== undefined ||
    sdk.$metadata?.httpStatusCode === 429 ||
    throttlingTypes.has(name) ||
    transientTypes.has(name)
  );
}
