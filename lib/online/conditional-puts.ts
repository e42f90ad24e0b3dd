import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  type PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HintedError } from '../hinted-error.ts';

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

// One call site per command type: the client's overloads take one command type at a time.
const sendWrite = (client: DynamoDBClient, command: ConditionalWrite) =>
  command instanceof DeleteItemCommand ? client.send(command) : client.send(command);

export function isThrottle(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: { throttling?: boolean } };
  return throttleNames.has(e.name ?? '') || e.$retryable?.throttling === true;
}

/** A put or delete whose condition says whether the item should change. */
export type ConditionalWrite = PutItemCommand | DeleteItemCommand;

/**
 * Sends conditional puts (or deletes) with at most `concurrency` in flight, retrying throttled
 * ones with jittered exponential backoff. A failed condition means the item holds a newer row
 * (for a delete: another row): counted as skipped. Any other error stops the batch.
 */
export async function sendConditionalPuts(
  client: DynamoDBClient,
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
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < commands.length && !failed) {
      const command = commands[next++] as ConditionalWrite;
      for (let attempt = 1; ; attempt++) {
        try {
          await sendWrite(client, command);
          written += 1;
          break;
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) {
            skippedAsOlder += 1;
            break;
          }
          if (!isThrottle(error)) {
            failed = true;
            throw error;
          }
          throttled += 1;
          if (attempt >= maxAttempts) {
            failed = true;
            throw new WriteThrottledError(
              `DynamoDB kept throttling a write after ${maxAttempts} attempts`,
              'lower the materialization concurrency or raise the table capacity',
              { cause: error },
            );
          }
          await sleep(random() * base * 2 ** attempt);
        }
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, commands.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return { written, skippedAsOlder, throttled };
}
