/**
 * Some records Firehose did not accept after every retry, or a call to it failed as a service
 * (throttled past the SDK's retries, 5xx, unreachable). The push answers 503 (the `$fault`
 * marks it a service failure, as the SDK's own errors are); records it did accept still reach
 * the staging prefix, and a retry with the same push id (an Idempotency-Key's) is kept once at
 * compaction (ADR 0016).
 */
export class OfflinePushUnavailableError extends Error {
  override readonly name = 'OfflinePushUnavailableError';
  readonly $fault = 'server';
}

/**
 * The local push log could not be written (a full disk, a read-only or vanished data
 * directory): the push answers 503 before any online write, so a retry is safe.
 */
export class PushLogWriteError extends Error {
  override readonly name = 'PushLogWriteError';
  readonly $fault = 'server';
}
