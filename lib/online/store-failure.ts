import { HintedError } from '../hinted-error.ts';
import { DeadlineExceededError } from './dynamodb-batch-get/deadline.ts';
import { DynamoDbRequestError, retryableOf } from './dynamodb-batch-get/dynamodb-request-error.ts';

/**
 * The store did not answer for every key after the retries (throttling, 5xx, timeouts, the
 * network, a damaged local store): a retry may succeed. The API answers 503, never "not found".
 */
export class OnlineStoreUnavailableError extends HintedError {}

/**
 * DynamoDB refused the lookup for a reason no retry fixes (a missing table, access denied,
 * unknown credentials, an invalid request, an answer that cannot be read, a proxy's 4xx):
 * someone must fix the deployment (or the code). The API answers 500 and the log says what to
 * check.
 */
export class OnlineStoreMisconfiguredError extends HintedError {
  constructor(
    message: string,
    hint: string,
    /** DynamoDB's error type, e.g. `AccessDeniedException`. */
    readonly errorType: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}

const credentialsHint =
  "check the function's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, set by Lambda from its role) and its region (AWS_REGION)";

/** Error types that say the deployment is wrong, each with what to check. */
const misconfigurationHints: Readonly<Record<string, string>> = {
  ResourceNotFoundException:
    'the online table does not exist in this account and region: check TABLE_NAME and AWS_REGION of the lookup function, and that the stack deployed its table',
  AccessDeniedException:
    "the function's role may not read the online table: check that its policy allows dynamodb:BatchGetItem on the table (and kms:Decrypt on the table's key)",
  UnrecognizedClientException: `DynamoDB does not know the credentials: ${credentialsHint}`,
  InvalidSignatureException: `DynamoDB refused the request's signature: ${credentialsHint}, and the clock`,
  IncompleteSignatureException: `DynamoDB refused the request's signature: ${credentialsHint}`,
  MissingAuthenticationTokenException: `the request carried no credentials: ${credentialsHint}`,
  CredentialsProviderError: `no credentials were found: ${credentialsHint}`,
  ValidationException:
    "DynamoDB refused the request as invalid: check that TABLE_NAME names fstore's online table (partition key pk, a string); if it does, this is a bug to report with this log entry",
};

/** What to check when the client classed a failure not retryable and no hint above names its type. */
function notRetryableHint(errorType: string | undefined): string {
  if (errorType === 'MalformedResponse')
    return "the answer to BatchGetItem could not be read (not DynamoDB's JSON, or over the size limit) and a retry would read the same: check that AWS_ENDPOINT_URL_DYNAMODB (when set) names DynamoDB and no proxy in between rewrites answers; if it does, this is a bug to report with this log entry";
  if (errorType === 'NetworkError')
    return "DynamoDB could not be reached for a reason a retry does not fix (a DNS name that does not exist, a TLS certificate refused): check AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB and the function's network path to DynamoDB";
  return "DynamoDB, or a proxy in front of it, refused the request for a reason a retry does not fix: check AWS_ENDPOINT_URL_DYNAMODB (when set) and any proxy in between; if the answer is DynamoDB's own, this is a bug to report with this log entry";
}

/** DynamoDB's error type of a failed call, from the signed client or the AWS SDK. */
export function errorTypeOf(error: unknown): string | undefined {
  if (error instanceof DynamoDbRequestError) return error.errorType;
  return error instanceof Error ? error.name : undefined;
}

/**
 * What a failed BatchGetItem call means for the lookup: out of time (DeadlineExceededError, as
 * it is), misconfigured or refused for good (OnlineStoreMisconfiguredError: a known error type,
 * or any failure the client classed not retryable) or unavailable for now
 * (OnlineStoreUnavailableError: throttling, 5xx, timeouts, resets, and failures no client
 * classed). Each keeps the full error as its cause, for the log only.
 */
export function storeFailure(error: unknown): Error {
  if (error instanceof DeadlineExceededError) return error;
  const errorType = errorTypeOf(error);
  const hint = errorType === undefined ? undefined : misconfigurationHints[errorType];
  const message = `the online store failed: ${(error as Error)?.message ?? String(error)}`;
  if (errorType !== undefined && hint !== undefined)
    return new OnlineStoreMisconfiguredError(message, hint, errorType, { cause: error });
  // A retry would fail the same way: a 503 with Retry-After would only invite it.
  if (retryableOf(error) === false)
    return new OnlineStoreMisconfiguredError(
      message,
      notRetryableHint(errorType),
      errorType ?? 'unknown',
      { cause: error },
    );
  // A store that knows what is wrong (a damaged local store) says so in its own words.
  if (error instanceof HintedError)
    return new OnlineStoreUnavailableError(error.message, error.hint, { cause: error });
  return new OnlineStoreUnavailableError(message, 'retry the request', { cause: error });
}
