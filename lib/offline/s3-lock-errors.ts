/**
 * How a conditional S3 request failed, from the status S3 answered (the SDK's error names
 * follow the XML code, which an endpoint other than S3 may not send):
 * - `precondition`: 412 PreconditionFailed, the condition did not hold (the object exists for
 *   `If-None-Match: *`, or has another ETag for `If-Match`);
 * - `conflict`: 409 ConditionalRequestConflict, a concurrent write of the same key; retry;
 * - `missing`: 404 NoSuchKey, no current object (`If-Match` on a deleted key answers this);
 * - `denied`: 403;
 * - `unknown`: anything else (a timeout, a reset, a 5xx): the request may or may not have landed.
 */
export type ConditionalFailure = 'precondition' | 'conflict' | 'missing' | 'denied' | 'unknown';

export function conditionalFailureOf(error: unknown): ConditionalFailure {
  const name = error instanceof Error ? error.name : '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  if (status === 412 || name === 'PreconditionFailed') return 'precondition';
  if (status === 409 || name === 'ConditionalRequestConflict') return 'conflict';
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return 'missing';
  if (status === 403 || name === 'AccessDenied') return 'denied';
  return 'unknown';
}
