/** What the push route said about a refused row or request (`error.details` of its answer). */
export interface PushErrorDetails {
  /** JSON path of what is wrong: `$.rows[3].amount`, `$.to`, `$path`. */
  readonly path?: string;
  /** Index of the refused row in the request's `rows`. */
  readonly row?: number;
  readonly field?: string;
  readonly reason?: string;
  /** The limit a 413 names. */
  readonly limit?: number;
  readonly requestId?: string;
  readonly [key: string]: unknown;
}

/**
 * A push the API did not accept: its HTTP status, the API's error code (`INVALID_ROW`,
 * `UNKNOWN_SOURCE`, `TOO_MANY_ROWS`, `STORE_UNAVAILABLE` ...; `HTTP_<status>` when the answer
 * carried none, as API Gateway's own 403) and details (row, field, reason). `status` 0 means
 * no answer arrived (network error or timeout). `attempts` counts the requests sent.
 */
export class PushError extends Error {
  override readonly name = 'PushError';

  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details: PushErrorDetails,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True for answers a later retry may turn into a success (throttling, store unavailable). */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

/** 429 and 5xx other than 500/501 (a bug or a missing feature does not heal by waiting); 0 is no answer. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 429 || status === 502 || status === 503 || status === 504;
}
