import { firstLine } from '../hinted-error.ts';
import { TransformDeadlineExceededError } from '../on-demand/transform-deadline.ts';
import { DamagedTileItemError } from '../online/aggregation-tiles/damaged-tile-item.ts';
import {
  DeadlineExceededError,
  OnlineStoreMisconfiguredError,
  OnlineStoreUnavailableError,
} from '../online/online-lookup.ts';
import { errorTypeOf } from '../online/store-failure.ts';
import { ApiError } from './api-error.ts';

/**
 * What the log gets of a request the online store failed: everything the 5xx body leaves out
 * (DynamoDB's message names tables, ARNs, account ids and roles), under the request id the
 * body gives the caller.
 */
export interface DependencyFailure {
  readonly level: 'warn' | 'error';
  /** What happened, for the log line's message. */
  readonly message: string;
  readonly code: 'STORE_UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'INTERNAL';
  readonly requestId: string | undefined;
  /** The whole error text, with its causes. */
  readonly detail: string;
  /** What to check or do. */
  readonly hint?: string;
  /** DynamoDB's error type (or the client's: TimeoutError, NetworkError ...), when known. */
  readonly errorType?: string;
  /** DynamoDB attempts made before the deadline passed. */
  readonly attempts?: number;
}

/** Seconds a client should wait before retrying a 503 (throttling and timeouts pass quickly). */
const retryAfterSeconds = '1';

/**
 * The answer (a generic message and the request id) and the log entry (the full error) of an
 * online-store failure, or of a damaged tile item (its answer names the item); undefined for
 * any other error. Transient failures answer 503 with
 * Retry-After; a misconfiguration answers 500 without it, since retrying cannot help.
 */
export function dependencyFailure(
  error: unknown,
  requestId: string | undefined,
): { readonly answer: ApiError; readonly log: DependencyFailure } | undefined {
  const details = requestId === undefined ? {} : { requestId };
  const seeLogs =
    requestId === undefined ? 'the service logs' : `the service logs under request id ${requestId}`;
  const retry = { headers: { 'retry-after': retryAfterSeconds } };
  const detail = messageChain(error);
  if (error instanceof TransformDeadlineExceededError)
    return {
      answer: new ApiError(
        503,
        'DEADLINE_EXCEEDED',
        `the on-demand transforms did not finish in time; retry the request (${seeLogs} say more)`,
        details,
        retry,
      ),
      log: {
        level: 'warn',
        message: 'on-demand transforms ran past the lookup deadline',
        code: 'DEADLINE_EXCEEDED',
        requestId,
        detail,
        hint: 'a transform is slow: keep its work independent of request values, or raise the lookup deadline',
      },
    };
  if (error instanceof DeadlineExceededError)
    return {
      answer: new ApiError(
        503,
        'DEADLINE_EXCEEDED',
        `the online store did not answer in time; retry the request (${seeLogs} say more)`,
        details,
        retry,
      ),
      log: {
        level: 'warn',
        message: 'online lookup gave up at its deadline',
        code: 'DEADLINE_EXCEEDED',
        requestId,
        detail,
        attempts: error.attempts,
        hint: 'DynamoDB is slow or throttling: check the table’s throttling and latency metrics',
      },
    };
  // A fault of the store's data, not of the caller: the answer names the item (the caller's
  // own entity's key), the log says what to do. A retry reads the same item: no Retry-After.
  if (error instanceof DamagedTileItemError)
    return {
      answer: new ApiError(
        500,
        'INTERNAL',
        `the online store holds a damaged item: ${firstLine(error)}; ${seeLogs} say more`,
        details,
      ),
      log: {
        level: 'error',
        message: 'online store item damaged: no retry can succeed',
        code: 'INTERNAL',
        requestId,
        detail,
        ...optional('hint', error.hint),
      },
    };
  if (error instanceof OnlineStoreMisconfiguredError)
    return {
      answer: new ApiError(
        500,
        'INTERNAL',
        `the service cannot read its online store; ${seeLogs} say why`,
        details,
      ),
      log: {
        level: 'error',
        message: 'online store misconfigured: no retry can succeed',
        code: 'INTERNAL',
        requestId,
        detail,
        errorType: error.errorType,
        ...optional('hint', error.hint),
      },
    };
  if (error instanceof OnlineStoreUnavailableError)
    return {
      answer: new ApiError(
        503,
        'STORE_UNAVAILABLE',
        `the online store is unavailable; retry the request (${seeLogs} say more)`,
        details,
        retry,
      ),
      log: {
        level: 'warn',
        message: 'online store unavailable after retries',
        code: 'STORE_UNAVAILABLE',
        requestId,
        detail,
        ...optional('errorType', errorTypeOf(error.cause)),
        ...optional('hint', error.hint),
      },
    };
  return undefined;
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

/** The error's message and those of its causes not already in it, outermost first. */
function messageChain(error: unknown): string {
  const messages: string[] = [];
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (!messages.some((seen) => seen.includes(message))) messages.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return messages.join(' <- ');
}
