import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiError } from '../../api/api-error.ts';
import { ensureLocalTable } from '../../online/online-table.ts';
import type { PushAnswer } from '../../push/execute-push.ts';
import type { PushBody } from '../../push/push-body.ts';
import type { PushIdentity } from '../../push/push-id.ts';
import {
  dynamoPushIdempotency,
  IdempotencyStoreError,
  idempotencyKeyOf,
} from '../../push/push-idempotency.ts';
import {
  localIdempotencyExpirySeconds,
  pushIdempotencyTableName,
} from '../../push/push-idempotency-table.ts';
import { pushIdOfLog } from '../../push/push-log.ts';
import { CliError, UsageError } from '../cli-error.ts';

/**
 * How long a `fstore push --idempotency-key` run holds its key: a run killed before it answered
 * blocks the key this long, then a re-run takes it over (with the same push id, so it lands once).
 */
export const cliPushInProgressMs = 120_000;

/**
 * The identity of `fstore push --file` (docs/adr/0015-push.md): with `--idempotency-key`, the
 * key's scope (key + source; the CLI has no caller), as a keyed HTTP push to `fstore serve`
 * gets; a failed push log replayed from `failed/` (its name `<stamp>-<pushId>.jsonl`) keeps
 * its push id, so replaying it twice lands once; otherwise undefined (a fresh random id).
 */
export function filePushIdentity(
  file: string,
  key: string | undefined,
): { readonly key?: string; readonly identity?: PushIdentity } {
  const logPushId = pushIdOfLog(file);
  if (key !== undefined) {
    checkKey(key);
    if (logPushId !== undefined)
      throw new UsageError(
        `--idempotency-key: ${file} is a push log, which keeps its own push id ${logPushId} (a replay of it lands once)`,
        'leave out --idempotency-key',
      );
    return { key };
  }
  return logPushId === undefined ? {} : { identity: { pushId: logPushId } };
}

function checkKey(key: string): void {
  try {
    idempotencyKeyOf({ 'idempotency-key': key });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    throw new UsageError(
      error.message.replace('the Idempotency-Key header', '--idempotency-key'),
      'e.g. --idempotency-key nightly-2026-03-01 (the same key when the same file is pushed again)',
    );
  }
}

/**
 * Runs a keyed push once per (key, source) through the Idempotency-Key records `fstore serve`
 * keeps beside the local online table: a re-run with the same rows gets the first answer and
 * writes nothing; the same key with other rows is refused.
 */
export async function runKeyedFilePush(
  client: DynamoDBClient,
  env: string,
  key: string,
  request: { readonly source: string; readonly body: PushBody },
  push: (identity: PushIdentity) => Promise<PushAnswer>,
): Promise<{ readonly answer: PushAnswer; readonly replayed: boolean }> {
  const table = pushIdempotencyTableName(env);
  await ensureLocalTable(client, table);
  const idempotency = dynamoPushIdempotency({
    client,
    table,
    expiresAfterSeconds: localIdempotencyExpirySeconds(process.env),
    inProgressExpiryMs: cliPushInProgressMs,
  });
  // Only hashed (parquet int64 values are bigints, which JSON cannot hold).
  const rows = JSON.parse(
    JSON.stringify(request.body.rows, (_, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    ),
  ) as unknown[];
  try {
    return await idempotency.run(
      key,
      { source: request.source, body: { ...request.body, rows } },
      push,
    );
  } catch (error) {
    if (error instanceof ApiError && (error.status === 422 || error.status === 409))
      throw new CliError(`--idempotency-key: ${error.message}`, {
        hint:
          error.status === 409
            ? `a run killed before it answered holds the key for ${cliPushInProgressMs / 1000} s; run the command again after that`
            : 'nothing was written; a new push needs a new key',
        cause: error,
      });
    if (error instanceof IdempotencyStoreError)
      throw new CliError(error.message, {
        hint: 'the push may or may not have run; running the same command again is safe',
        cause: error,
      });
    throw error;
  }
}
