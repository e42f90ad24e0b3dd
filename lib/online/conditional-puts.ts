import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  type PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { inParallel } from '../bounded-pool.ts';
import { HintedError } from '../hinted-error.ts';
import { DynamoDbRequestError } from './dynamodb-batch-get/dynamodb-request-error.ts';
import type { PutItem } from './dynamodb-batch-get/signed-put-item.ts';

export class WriteThrottledError extends HintedError {}

export interface WriteOptions {
  readonly concurrency: number;
  /** Attempts per write when DynamoDB throttles. Default 8. */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const throttleNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** Who sends the writes: an AWS SDK client, or the signed PutItem client (puts only). */
export type ConditionalWriter = DynamoDBClient | PutItem;

// One call site per command type: the client's overloads take one command type at a time.
async function sendWrite(writer: ConditionalWriter, command: ConditionalWrite): Promise<void> {
  if (typeof writer === 'function') {
    if (command instanceof DeleteItemCommand)
      throw new Error('internal: the signed PutItem client was given a delete');
    await writer(command.input);
  } else if (command instanceof DeleteItemCommand) await writer.send(command);
  else await writer.send(command);
}

export function isThrottle(error: unknown): boolean {
  if (error instanceof DynamoDbRequestError) return throttleNames.has(error.errorType);
  const e = error as { name?: string; $retryable?: { throttling?: boolean } };
  return throttleNames.has(e.name ?? '') || e.$retryable?.throttling === true;
}

/** DynamoDB refused the write's condition, through the SDK or the signed client. */
function isConditionFailed(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof DynamoDbRequestError && error.errorType === 'ConditionalCheckFailedException')
  );
}

/** A put or delete whose condition says whether the item should change. */
export type ConditionalWrite = PutItemCommand | DeleteItemCommand;

/**
 * Sends conditional puts (or deletes) with at most `concurrency` in flight, retrying throttled
 * ones with jittered exponential backoff. A failed condition means the item holds a newer row
 * (for a delete: another row): counted as skipped. Any other error stops the batch.
 */
export async function sendConditionalPuts(
  client: ConditionalWriter,
  commands: readonly ConditionalWrite[],
  options: WriteOptions,
): Promise<{ written: number; skippedAsOlder: number; throttled: number }> {
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 8;
  const base = options.baseDelayMs ?? 25;
  let written = 0;
  let skippedAsOlder = 0;
  let throttled = 0;
  await inParallel(commands, options.concurrency, async (command) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await sendWrite(client, command);
        written += 1;
        return;
      } catch (error) {
        if (isConditionFailed(error)) {
          skippedAsOlder += 1;
          return;
        }
        if (!isThrottle(error)) throw error;
        throttled += 1;
        if (attempt >= maxAttempts)
          throw new WriteThrottledError(
            `DynamoDB kept throttling a write after ${maxAttempts} attempts`,
            'lower the materialization concurrency or raise the table capacity',
            { cause: error },
          );
        await sleep(random() * base * 2 ** attempt);
      }
    }
  });
  return { written, skippedAsOlder, throttled };
}
