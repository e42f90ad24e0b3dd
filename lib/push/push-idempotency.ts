import { createHash } from 'node:crypto';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../api/api-error.ts';
import { itemAttributes } from '../online/item-codec.ts';
import type { PushAnswer } from './execute-push.ts';
import type { PushBody } from './push-body.ts';
import { type PushIdentity, scopedPushId } from './push-id.ts';

/** The request header (IETF draft-ietf-httpapi-idempotency-key-header), as HTTP APIs lower-case it. */
export const idempotencyKeyHeader = 'idempotency-key';
/** The answer header of a replayed push. */
export const idempotentReplayedHeader = 'idempotent-replayed';
export const maxIdempotencyKeyLength = 255;
// Visible ASCII without spaces, commas (two headers joined by a proxy) or quotes: a UUID, a
// ULID, base64 and `<producer>:<batch>-<n>` all fit.
const keyPattern = /^[A-Za-z0-9_.:~+/=-]+$/;

export interface PushIdempotencyOptions {
  /** The DynamoDB client of the records' table (the online table's client will do). */
  readonly client: DynamoDBClient;
  readonly table: string;
  /** How long a completed push's answer is kept for replays (Powertools' expiresAfterSeconds). */
  readonly expiresAfterSeconds: number;
  /**
   * How long a push in progress holds its key; after that a retry may take it over (the writer
   * died). At least the longest a push can run: the function timeout on AWS.
   */
  readonly inProgressExpiryMs: number;
}

/**
 * Runs a push at most once per Idempotency-Key scope (the key, the source, and the caller when
 * the runtime knows who it is), answering retries with the first answer. `push` gets the push
 * id of the scope and request, so a push that runs again (its answer was lost) lands offline
 * once, and the key reused for other rows once its record is gone lands as another push.
 */
export interface PushIdempotency {
  run(
    key: string,
    request: {
      readonly source: string;
      readonly body: PushBody;
      /** Who sent the push (push-caller.ts); undefined where the runtime cannot tell. */
      readonly caller?: string;
    },
    push: (identity: PushIdentity) => Promise<PushAnswer>,
  ): Promise<{ readonly answer: PushAnswer; readonly replayed: boolean }>;
}

/** A failure of the records' store itself: the push may or may not have run; a retry is safe. */
export class IdempotencyStoreError extends Error {
  override readonly name = 'IdempotencyStoreError';
}

/**
 * The Idempotency-Key of a request, checked: absent (undefined), or 1 to 255 characters of
 * `A-Z a-z 0-9 _ . : ~ + / = -`; anything else is 400 INVALID_IDEMPOTENCY_KEY.
 */
export function idempotencyKeyOf(
  headers: Readonly<Record<string, string | undefined>> | undefined,
): string | undefined {
  const entry = Object.entries(headers ?? {}).find(
    ([name]) => name.toLowerCase() === idempotencyKeyHeader,
  );
  if (!entry || entry[1] === undefined) return undefined;
  const key = entry[1];
  const problem =
    key.length === 0
      ? 'is empty'
      : key.length > maxIdempotencyKeyLength
        ? `is ${key.length} characters, over the limit of ${maxIdempotencyKeyLength}`
        : keyPattern.test(key)
          ? undefined
          : 'may hold only letters, digits and _ . : ~ + / = - (one key, no spaces or commas)';
  if (problem === undefined) return key;
  throw new ApiError(
    400,
    'INVALID_IDEMPOTENCY_KEY',
    `the Idempotency-Key header ${problem}; send a new unique key per push, e.g. a UUID`,
    { path: `$headers.${idempotencyKeyHeader}`, limit: maxIdempotencyKeyLength },
  );
}

/**
 * Idempotency-Key records in DynamoDB through Powertools for AWS Lambda's idempotency utility
 * (the same code locally, on dynalite, and on AWS): the first push with a key records its
 * scope (key, source, caller) in progress with a conditional put, runs, and stores its answer
 * for `expiresAfterSeconds`. A retry in the same scope with the same request (target, rows;
 * object key order does not matter) gets that answer and writes nothing; the same scope with
 * another request is 422; while the first is still running, 409. A push that fails (4xx, 503)
 * leaves no record, so its retry runs again; if only storing its answer failed, the retry runs
 * again with the same push id, so its offline rows still land once. Records carry the expiry as
 * epoch seconds (`expiration`, the table's TTL attribute); an expired record is replaced even
 * before DynamoDB deletes it.
 */
export function dynamoPushIdempotency(options: PushIdempotencyOptions): PushIdempotency {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.table,
    keyAttr: itemAttributes.key,
    awsSdkV3Client: options.client,
  });
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request',
    expiresAfterSeconds: options.expiresAfterSeconds,
    // Records the in-progress expiry (now + the remaining time) with each new record.
    lambdaContext: { getRemainingTimeInMillis: () => options.inProgressExpiryMs } as never,
  });
  const once = makeIdempotent(
    // The payload is the first argument (its key and request are hashed); the push is the second.
    async (_input: { key: string; request: unknown }, push: () => Promise<PushAnswer>) => push(),
    { persistenceStore, config, keyPrefix: 'fstore-push' },
  );
  return {
    async run(key, request, push) {
      let ran = false;
      const scope = {
        key,
        source: request.source,
        ...(request.caller === undefined ? {} : { caller: request.caller }),
      };
      // The push id covers the request too: the key reused with other rows after its record
      // expired (or after a push that died in progress) runs as another push, so it must not
      // be dropped offline as one already ingested.
      const pushId = scopedPushId({ ...scope, to: request.body.to, rows: request.body.rows });
      // The record is the scope's, so the same key elsewhere (another source or caller) is
      // another push, and 422 means the same scope was used for other rows.
      const payload = {
        key: scopedRecordKey(scope),
        request: { source: request.source, to: request.body.to, rows: request.body.rows },
      };
      try {
        const answer = await once(payload, async () => {
          ran = true;
          return push({ pushId, idempotencyKey: key });
        });
        return { answer, replayed: !ran };
      } catch (error) {
        throw idempotencyError(error, key);
      }
    },
  };
}

/**
 * The record's key: a hash of the key's scope only (the key, the source, the caller), the same
 * as before push ids covered the request, so records stored by an older fstore are still found.
 */
function scopedRecordKey(scope: { key: string; source: string; caller?: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([scope.key, scope.source, scope.caller ?? null]))
    .digest('hex')
    .slice(0, 32);
}

function idempotencyError(error: unknown, key: string): unknown {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  if (error instanceof IdempotencyValidationError)
    return new ApiError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key "${shown}" was used for a different push to this source (another target or rows); a retry must resend the same request, and a new push needs a new key`,
      { path: `$headers.${idempotencyKeyHeader}` },
      { cause: error },
    );
  if (error instanceof IdempotencyAlreadyInProgressError)
    return new ApiError(
      409,
      'IDEMPOTENCY_KEY_IN_PROGRESS',
      `a push with Idempotency-Key "${shown}" is still in progress; retry after it answers`,
      { path: `$headers.${idempotencyKeyHeader}` },
      { cause: error, headers: { 'retry-after': '1' } },
    );
  // Powertools' own failures (the table unreachable, throttled, a record in an odd state).
  if (error instanceof Error && error.name.startsWith('Idempotency'))
    return new IdempotencyStoreError(`the Idempotency-Key store failed: ${error.message}`, {
      cause: error,
    });
  return error;
}
