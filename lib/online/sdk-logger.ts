import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * The logger for an AWS SDK DynamoDB client that serves lookups (the Lambda has its own client,
 * ADR 0014; bench:online's SDK variant and tests use this one). The SDK's logger middleware
 * builds a redacted copy of each command's input and output (all of a BatchGetItem's items) for
 * `logger.info`, even when the default logger discards it; it only does so when the logger has
 * an `info` function, so this one has none. Measured on dynalite: a 100-item BatchGetItem took
 * 46.8 ms instead of 67.9 ms (median of 7 interleaved blocks on the shared build machine).
 * The SDK's warnings and errors still reach the console.
 */
export const sdkLoggerWithoutInfo = {
  debug: () => {},
  warn: (...content: unknown[]) => console.warn(...content),
  error: (...content: unknown[]) => console.error(...content),
} as unknown as NonNullable<DynamoDBClientConfig['logger']>;
